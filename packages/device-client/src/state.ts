import type { ConnectionState } from '@aip/endpoint'

export type { DisconnectCause, StopReason } from '@aip/endpoint'

/**
 * The state of a {@link DeviceClientEndpoint}: the shared client connection lifecycle of `@aip/endpoint`
 * (`ConnectionState`), changed only through its transition function. A device client goes
 * `idle` → `connecting` → `registered`, then `reconnecting` → `connecting` ... after a drop, and ends `stopped`
 * (`reason` `stopped`, `fatal` or `exhausted`); it never stays in `lost`.
 */
export type ClientState = ConnectionState

/** The events of the state: `state` for every change, and one event per kind with that state. */
export interface StateEvents {
  state: { readonly state: ClientState, readonly previous: ClientState }
  connecting: Extract<ClientState, { kind: 'connecting' }>
  registered: Extract<ClientState, { kind: 'registered' }>
  reconnecting: Extract<ClientState, { kind: 'reconnecting' }>
  stopped: Extract<ClientState, { kind: 'stopped' }>
}
