import type { EndpointEvents, FailureReason } from '@aip/endpoint'
import type { CommandEvents } from './command-runner.js'
import type { ConnectionEnd } from './connection.js'
import type { GrantEvent } from './continuity.js'
import type { DropReason } from './outbox.js'
import type { StateEvents } from './state.js'

/** Events of a {@link DeviceClientEndpoint}, beside the `stateChange` and `connected` of every endpoint. */
export interface DeviceClientEvents extends StateEvents, EndpointEvents, CommandEvents {
  /**
   * A registered connection closed (the state then becomes `reconnecting` or `stopped`): its close `code` and
   * `reason`, its `cause` (`closed`, `heartbeat`, `silence`, or `local` for our own close), and the server's `url`
   * (query values hidden).
   */
  disconnected: EndpointEvents['disconnected'] & {
    readonly code: number
    readonly reason: string
    readonly cause: ConnectionEnd['cause']
    readonly url: string
  }
  /**
   * An attempt to open and register a connection on one server failed: the server's `url` (query values hidden) and
   * `index` in the `wsUrl` list, the failure's `reason` (see `classifyFailure` of `@aip/endpoint`) and `error`. The
   * next server of the list is tried, or, when every server of the round failed, the reconnection strategy waits
   * (state `reconnecting`) or the client stops.
   */
  attemptFailed: { readonly url: string, readonly index: number, readonly reason: FailureReason, readonly error: unknown }
  /**
   * The client registered on a server: its `url` (query values hidden) and `index` in the `wsUrl` list. Emitted at
   * every registration, before `grant` and the `registered` state event.
   */
  registeredOn: { readonly url: string, readonly index: number }
  /** COMMAND_RESULTS were written to the server (`queuedMs` > 0 when they waited for a reconnection). */
  resultsSent: { readonly sessionId: string | null, readonly prevResponseId: string | null, readonly queuedMs: number }
  /** Kept COMMAND_RESULTS were dropped without being sent. */
  resultsDropped: { readonly sessionId: string | null, readonly prevResponseId: string | null, readonly reason: DropReason }
  /** A server TASK (HTTP dispatch) arrived; the client turns it into its own TASK. */
  serverTask: { readonly sessionId: string | null, readonly taskName: string | null, readonly request: string | null }
  /** A TASK_END arrived for a session this device took part in. */
  taskEnd: { readonly sessionId: string | null, readonly status: string, readonly error: string | null }
  /** The server sent an ERROR outside a request this client waits for; `error` holds its text. */
  serverError: { readonly error: string | null, readonly sessionId: string | null }
  /** Something failed that no caller can be told about (a listener, a dispatched task). */
  error: { readonly error: unknown, readonly context: string }
  /**
   * A registration succeeded: what the server granted of the continuity extension (`grant`, `null` for a server
   * that granted nothing), whether it `resumed` sessions it held for this id, and whether it is this client's
   * `first` registration. Emitted before the `registered` state event, at every registration.
   */
  grant: GrantEvent
  /** Fresh telemetry was written to the server (every `telemetryIntervalMs`). */
  telemetrySent: { readonly systemInfo: Record<string, unknown> }
}
