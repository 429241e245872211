/** Why a transport closed: the WebSocket close code and reason, and whether we closed it. */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
  /** True when this side called `close()` or `terminate()`. */
  readonly local: boolean
}

/** Events of a {@link Transport}, each with its payload. */
export interface TransportEvents {
  /** One frame: a string for a text frame (valid UTF-8), a Buffer for a binary frame. */
  message: string | Buffer
  /** The connection is gone; emitted exactly once, after which every listener is dropped. */
  close: CloseInfo
  /** A transport-level error; a `close` follows. */
  error: Error
  /** The answer to a `ping()`. */
  pong: undefined
}

/**
 * A message-oriented, bidirectional connection: a WebSocket, or an in-memory pair in tests. Endpoints depend only
 * on this interface.
 */
export interface Transport {
  /** True until the connection starts closing. */
  readonly isOpen: boolean
  /** Bytes accepted by `send` but not yet written to the network (0 when unknown). */
  readonly bufferedAmount: number
  /** Sends one frame; a string goes as a text frame, bytes as a binary frame. Rejects when closed. */
  send: (data: string | Uint8Array) => Promise<void>
  /**
   * Optional: `send` without a promise, for senders that do not wait for the write. False when not open (nothing
   * is sent); otherwise `onError`, when given, is called if the write fails (without it, nothing waits for the write
   * to complete: a failure shows as the connection's close).
   */
  post?: (data: string | Uint8Array, onError?: (err: Error) => void) => boolean
  /** Starts a clean close with a WebSocket close code (1000 by default) and a reason (at most 123 bytes). */
  close: (code?: number, reason?: string) => void
  /** Drops the connection at once, without a close handshake. */
  terminate: () => void
  /** Sends a WebSocket ping, when the transport has them; the peer's pong is the `pong` event. */
  ping: () => void
  /** Subscribes to an event; returns the function that unsubscribes. */
  on: <E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void) => () => void
  /**
   * Optional: makes `receiver` the transport's primary consumer (`null`: none). It is told of every frame and of
   * the close before the listeners of `message` and `close`, by a method call instead of a listener closure, so
   * that a connection held for hours costs no closure for it. One receiver at a time; it is dropped after the
   * close. An `AIPProtocol` uses it when the transport has it, and `on()` otherwise.
   */
  setReceiver?: (receiver: TransportReceiver | null) => void
}

/** The method of a {@link TransportReceiver} told of each frame. */
export const receiveFrame: unique symbol = Symbol('aip.transport.receiveFrame')
/** The method of a {@link TransportReceiver} told of the close. */
export const receiveClose: unique symbol = Symbol('aip.transport.receiveClose')

/** The method of a {@link TransportReceiver} told of a transport error (optional). */
export const receiveError: unique symbol = Symbol('aip.transport.receiveError')

/** The primary consumer of a {@link Transport} (see `setReceiver`): the protocol engine of the connection. */
export interface TransportReceiver {
  /** One frame, before the `message` listeners. */
  [receiveFrame]: (data: string | Buffer) => void
  /** The close, before the `close` listeners; called once. */
  [receiveClose]: (info: CloseInfo) => void
  /** Optional: a transport error, before the `error` listeners (a `close` follows). */
  [receiveError]?: (err: Error) => void
}

/**
 * Makes `receiver` the consumer of `transport`'s frames and close: through `setReceiver` when the transport has it
 * (no closure), else through two listeners. Returns the function that removes those listeners, or `undefined`.
 */
export function bindReceiver (transport: Transport, receiver: TransportReceiver): (() => void) | undefined {
  if (transport.setReceiver !== undefined) {
    transport.setReceiver(receiver)
    return undefined
  }
  const offMessage = transport.on('message', (data) => receiver[receiveFrame](data))
  const offClose = transport.on('close', (info) => receiver[receiveClose](info))
  return () => { offMessage(); offClose() }
}

/** WebSocket close codes used by AIP endpoints. Application codes are in the 4000-4999 range. */
export const CloseCode = {
  /** Normal closure. The reference closes with it after a refused registration. */
  Normal: 1000,
  /** The server is shutting down, or the client is going away. */
  GoingAway: 1001,
  /** A frame of a type we do not accept (a binary frame outside a file transfer). */
  UnsupportedData: 1003,
  /** Closed without a close frame (the network dropped, or the peer was terminated). */
  Abnormal: 1006,
  /** A frame that is not valid UTF-8 text. */
  InvalidPayload: 1007,
  /** Refused by policy: bad credentials, identity rules. */
  PolicyViolation: 1008,
  /** A frame larger than the payload limit. */
  MessageTooBig: 1009,
  /** An unexpected server error. */
  InternalError: 1011,
  /** The server is restarting: reconnect (clients do not count it against their retry budget). */
  ServiceRestart: 1012,
  /** The server is overloaded: reconnect later, with backoff. */
  TryAgainLater: 1013,
  /** The client did not register within the registration deadline. */
  RegistrationTimeout: 4001,
  /** The registration was refused (invalid REGISTER, duplicate id, unknown target). */
  RegistrationRefused: 4002,
  /** The peer stopped answering pings or heartbeats. */
  PeerUnresponsive: 4003,
  /** The same device registered again from a new connection; this one was replaced. */
  Replaced: 4004
} as const

export type CloseCode = typeof CloseCode[keyof typeof CloseCode]
