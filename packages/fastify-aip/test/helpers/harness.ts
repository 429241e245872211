import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { TestClient, deviceRegister, echoDevice as echo, registered, type Teardown } from '@aip/test-support'
import { aipPlugin, type AipOptions } from '../../src/index.js'

export {
  TestClient, deviceRegister, constellationRegister, registeredDevice, registeredConstellation, until, type Teardown, type Closed
} from '@aip/test-support'

export const TOKEN = 'ws-token-s3cret'
export const API_KEY = 'api-key-s3cret'

/** Collects every log line of an app (JSON objects), to check what is logged and what is not. */
export function logCapture (): { stream: Writable, lines: Array<Record<string, any>>, text: () => string } {
  const raw: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) { raw.push(chunk.toString()); callback() }
  })
  return {
    stream,
    get lines () { return raw.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>) },
    text: () => raw.join('')
  }
}

/** A Fastify app with the plugin (pings off unless asked), closed at teardown. */
export async function buildApp (
  t: Teardown, options: AipOptions = {}, fastifyOptions: FastifyServerOptions = {}, setup?: (app: FastifyInstance) => void
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  t.teardown(() => app.close())
  await app.register(aipPlugin, { pingIntervalMs: 0, ...options })
  setup?.(app)
  await app.ready()
  return app
}

/** Listens on 127.0.0.1, port 0; returns the WebSocket base URL (`ws://127.0.0.1:<port>`) and the HTTP one. */
export async function listen (app: FastifyInstance): Promise<{ ws: string, http: string }> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { ws: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}` }
}

/** A client through `app.injectWS`: no network. Listeners are attached before the upgrade completes. */
export async function injectClient (t: Teardown, app: FastifyInstance, path: string): Promise<TestClient> {
  let client: TestClient | undefined
  await app.injectWS(path, {}, { onInit: (socket) => { client = new TestClient(socket) } })
  const injected = client as TestClient
  t.teardown(() => injected.ws.terminate())
  return injected
}

/** Registers a device through `injectWS`. */
export async function injectedDevice (t: Teardown, app: FastifyInstance, path: string, clientId: string): Promise<TestClient> {
  return await registered(await injectClient(t, app, path), deviceRegister(clientId))
}

/** Answers COMMANDs with success Results, and a server TASK (HTTP dispatch) with the device's own TASK. */
export function echoDevice (client: TestClient, clientId: string): void {
  echo(client, clientId, { answerServerTasks: true })
}
