import type { Logger, Unsubscribe } from '@aip/resilience'
import type { CloseInfo } from '../transport.js'
import type { TransferReassembler } from './transfer-receive.js'
import type { TransferLink } from './transfer-send.js'
import type { IncomingMessage, MessageHandler, ProtocolRole, ReceiveOptions, ReceiveTransferOptions } from './types.js'
import { TransportClosedError } from '../errors.js'
import { Waiters } from './waiters.js'

/**
 * The state of one {@link AIPProtocol} that most connections never use: handlers, waiters, transfers, the close
 * promise, a child logger. A server holds one protocol per connection for the connection's lifetime, so all of
 * it lives in this one object, made on first use: an idle connection pays for one field instead of a dozen.
 * Internal to the protocol.
 */
export class RareState<R extends ProtocolRole> {
  /** The child logger (a pino child per connection costs). */
  logger: Logger | undefined = undefined
  handlers: Map<string, Set<MessageHandler<R>>> | undefined = undefined
  anyHandlers: Set<MessageHandler<R>> | undefined = undefined
  /** `(message) => owner.ownerMessage(message, key, protocol)`, made only when other handlers run beside the owner's. */
  ownerHandler: MessageHandler<R> | undefined = undefined
  waiters: Waiters | undefined = undefined
  reassembler: TransferReassembler | undefined = undefined
  /** The view of the protocol the transfer senders use. */
  link: TransferLink | undefined = undefined
  /** Removes the protocol's transport listeners; kept only for a transport already closed at construction. */
  offTransport: (() => void) | undefined = undefined
  closedPromise: Promise<CloseInfo> | undefined = undefined
  /** How the connection closed, once its close was handled. */
  closeInfo: CloseInfo | undefined = undefined
  resolveClosed: ((info: CloseInfo) => void) | undefined = undefined

  /** The waiters, made on first use. */
  get waiterTable (): Waiters {
    return (this.waiters ??= new Waiters())
  }

  /** Waits for the next message of `type` (`'*'`: of any type) that passes the filter (`AIPProtocol.receive`). */
  waitMessage (type: string, options: ReceiveOptions<R>, closed: boolean): Promise<IncomingMessage<R>> {
    const filter = options.filter
    return this.waiterTable.wait('message', undefined, options, `receive ${type}`, (payload) => {
      const message = payload as IncomingMessage<R>
      return (type === '*' || message.type === type) && (filter === undefined || filter(message))
    }, closed) as Promise<IncomingMessage<R>>
  }

  /** Waits for the next binary payload or file (or the one of `transferId`). */
  waitTransfer (kind: 'binary' | 'file', options: ReceiveTransferOptions, closed: boolean): Promise<unknown> {
    const transferId = options.transferId
    return this.waiterTable.wait(kind, transferId, options, `receive ${kind}`, (payload) =>
      transferId === undefined || (payload as { transferId: string }).transferId === transferId
    , closed)
  }

  /** Adds a handler for one message type; returns the function that removes it. */
  addHandler (type: string, handler: MessageHandler<R>): Unsubscribe {
    const handlers = (this.handlers ??= new Map())
    let set = handlers.get(type)
    if (set === undefined) {
      set = new Set()
      handlers.set(type, set)
    }
    set.add(handler)
    return () => {
      const current = handlers.get(type)
      current?.delete(handler)
      if (current?.size === 0) handlers.delete(type)
    }
  }

  /** Adds a handler for every message; returns the function that removes it. */
  addAnyHandler (handler: MessageHandler<R>): Unsubscribe {
    const handlers = (this.anyHandlers ??= new Set())
    handlers.add(handler)
    return () => { handlers.delete(handler) }
  }

  /** The close promise: resolved at once with `info` when the close was handled already. */
  closed (info: CloseInfo | undefined): Promise<CloseInfo> {
    this.closedPromise ??= info !== undefined
      ? Promise.resolve(info)
      : new Promise((resolve) => { this.resolveClosed = resolve })
    return this.closedPromise
  }

  /** At the close: drops the open transfers (returns how many) and rejects every waiter. */
  release (): number {
    const dropped = this.reassembler?.clear() ?? 0
    this.waiters?.rejectAll(() => new TransportClosedError())
    return dropped
  }

  /** At the close: settles the close promise, drops the handlers and the transport listeners. */
  settle (info: CloseInfo): void {
    this.closeInfo = info
    this.offTransport?.()
    this.offTransport = undefined
    this.resolveClosed?.(info)
    this.resolveClosed = undefined
    this.handlers?.clear()
    this.anyHandlers?.clear()
  }
}
