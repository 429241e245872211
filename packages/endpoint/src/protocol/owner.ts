import type { CloseInfo } from '../transport.js'
import type { AIPProtocol } from './index.js'
import { runHandlers } from './inbox.js'
import type { RareState } from './rare.js'
import type { IncomingMessage, MessageHandler, ProtocolEvents, ProtocolRole } from './types.js'

/**
 * The endpoint that owns a protocol (internal to this package): it gets every message after the handlers of its
 * type and before the other `onAnyMessage` handlers, each `invalidFrame` and `queueFull` before their listeners,
 * and the close both before and after the `close` listeners, through methods shared by all its connections, with
 * the connection's key: no closure, no listener per connection.
 */
export interface ProtocolOwner<R extends ProtocolRole> {
  ownerMessage: (message: IncomingMessage<R>, key: string, protocol: AIPProtocol<R>) => void | Promise<void>
  ownerInvalidFrame: (event: ProtocolEvents<R>['invalidFrame'], key: string, protocol: AIPProtocol<R>) => void
  ownerQueueFull: (event: ProtocolEvents<R>['queueFull'], key: string, protocol: AIPProtocol<R>) => void
  /**
   * The transport has closed, told at once (frames received before it may still wait): after the close was queued,
   * so after the protocol's close when no frame was waiting.
   */
  ownerTransportClosed: (info: CloseInfo, key: string, protocol: AIPProtocol<R>) => void
  /** The close, before any `close` listener (the connection leaves the owner's table). */
  ownerClosed: (protocol: AIPProtocol<R>, key: string, info: CloseInfo) => void
  /** The close again, after every `close` listener (an extension's `onClose` included). */
  ownerAfterClose: (info: CloseInfo, key: string, protocol: AIPProtocol<R>) => void
}

/** The method of {@link AIPProtocol} that binds its owner (internal to this package). */
export const bindOwner: unique symbol = Symbol('aip.protocol.bindOwner')

/** The extension fields of received messages (top-level fields the schema does not declare), by message. */
export const EXTRA_FIELDS = new WeakMap<object, Readonly<Record<string, unknown>>>()

/**
 * The fields a received message carried beyond the 14 declared ones (our extensions, such as a COMMAND's
 * `traceparent`), or `null`. Only for messages as an {@link AIPProtocol} delivered them.
 */
export function extraFieldsOf (message: object): Readonly<Record<string, unknown>> | null {
  return EXTRA_FIELDS.get(message) ?? null
}

/**
 * Runs the handlers of a message: those of its type, then the owner's, then those of every message, one after
 * another (see `runHandlers`). With the owner's alone (a server connection's hot path) no array is made.
 */
export function runWithOwner<R extends ProtocolRole> (
  rare: RareState<R> | undefined, owner: ProtocolOwner<R> | null, key: string, incoming: IncomingMessage<R>, protocol: AIPProtocol<R>,
  onError: (protocol: AIPProtocol<R>, error: unknown, incoming: IncomingMessage<R>) => void
): Promise<void> | undefined {
  const typed = rare?.handlers?.get(incoming.type)
  const any = rare?.anyHandlers
  if (typed === undefined && (any === undefined || any.size === 0)) {
    return owner === null ? undefined : runOwner(owner, incoming, key, protocol, onError)
  }
  const handlers: Array<MessageHandler<R>> = typed === undefined ? [] : [...typed]
  if (owner !== null) handlers.push((rare as RareState<R>).ownerHandler ??= (message) => owner.ownerMessage(message, key, protocol))
  if (any !== undefined) for (const handler of any) handlers.push(handler)
  return runHandlers(handlers, 0, incoming, protocol, onError)
}

/** Runs the owner's handler alone, as `runHandlers` would run a list of one: a failure goes to `onError`. */
export function runOwner<R extends ProtocolRole> (
  owner: ProtocolOwner<R>, incoming: IncomingMessage<R>, key: string, protocol: AIPProtocol<R>,
  onError: (protocol: AIPProtocol<R>, error: unknown, incoming: IncomingMessage<R>) => void
): Promise<void> | undefined {
  let result: void | Promise<void>
  try {
    result = owner.ownerMessage(incoming, key, protocol)
  } catch (error) {
    onError(protocol, error, incoming)
    return undefined
  }
  if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
    return (result as Promise<void>).then(undefined, (error: unknown) => { onError(protocol, error, incoming) })
  }
  return undefined
}
