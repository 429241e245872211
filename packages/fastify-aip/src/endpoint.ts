import { DeviceServerEndpoint, type DeviceServerOptions } from '@aip/device-server'
import { AipSessions } from './sessions.js'
import { AipTasks } from './tasks.js'

/**
 * The `fastify.aip` decorator: the {@link DeviceServerEndpoint} serving the plugin's WebSocket route, with
 * `sessions` and `tasks` views over it. (Named apart from `@aip/endpoint`'s `AIPEndpoint`, the base of every
 * endpoint.)
 */
export class AipDeviceServer extends DeviceServerEndpoint {
  /** Running and finished sessions, cancellation, and a stream of changes. */
  readonly sessions: AipSessions
  /** Dispatch a task to a device and await its TASK_END. */
  readonly tasks: AipTasks

  constructor (options: DeviceServerOptions = {}) {
    super(options)
    this.sessions = new AipSessions(this, this.options.logger)
    this.tasks = new AipTasks(this)
  }
}
