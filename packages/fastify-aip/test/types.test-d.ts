// Compiled by `tsc -p test/tsconfig.json`, never run: the decorators and hooks are typed by module augmentation.
import Fastify, { type FastifyInstance } from 'fastify'
import aipPlugin, {
  aipPlugin as named, AipDeviceServer, type AipDecorator, type AipOptions, type RunningSession, type SessionView,
  type StartedTask, type TaskRecord, type ClientRecord, type DeviceDisconnectedInfo
} from '../src/index.js'

function expectType<T> (_value: T): void {}

const app = Fastify()
expectType<typeof named>(aipPlugin)
app.register(aipPlugin, { path: '/ws', prefix: '/api', apiKey: 'k', token: 't', liveness: false, closeTimeoutMs: 5 })
// @ts-expect-error path must be a string
app.register(aipPlugin, { path: 1 })
// @ts-expect-error hooks are functions
const badHook: AipOptions = { onTaskEnd: 'no' }

const hooks: AipOptions = {
  onDeviceRegistered: (record, fastify) => { expectType<ClientRecord>(record); expectType<FastifyInstance>(fastify) },
  onDeviceDisconnected: async (info) => { expectType<DeviceDisconnectedInfo>(info); expectType<number>(info.code) },
  onTaskEnd: (record) => { expectType<TaskRecord>(record) }
}

async function decorators (fastify: FastifyInstance): Promise<void> {
  expectType<AipDecorator>(fastify.aip)
  expectType<AipDeviceServer>(fastify.aip)
  expectType<boolean>(fastify.aip.isConnected('dev'))
  expectType<RunningSession[]>(fastify.aip.sessions.list())
  expectType<SessionView | undefined>(fastify.aip.sessions.get('s'))
  expectType<boolean>(fastify.aip.sessions.cancel('s'))
  const off: () => void = fastify.aip.sessions.on('change', (change) => {
    if (change.type === 'started') expectType<string>(change.session.sessionId)
    else expectType<'completed' | 'failed'>(change.record.status)
  })
  off()
  expectType<TaskRecord>(await fastify.aip.tasks.dispatch('dev', 'req', { taskName: 'n', timeoutMs: 1, signal: AbortSignal.timeout(5) }))
  expectType<StartedTask>(await fastify.aip.tasks.start('dev', 'req'))
  // @ts-expect-error the request is a string
  await fastify.aip.tasks.dispatch('dev', 42)
}

expectType<unknown>([badHook, hooks, decorators])
