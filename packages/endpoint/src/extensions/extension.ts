import type { Logger, Unsubscribe } from '@aip/resilience'
import type { AIPProtocol, AnyMessage, ProtocolRole } from '../protocol/index.js'
import type { CloseInfo } from '../transport.js'

/** Where a hook was called from. */
export interface ExtensionContext {
  /** The endpoint's id for this connection (a device id, a URL without its query, ...), when it has one. */
  readonly endpointId: string | undefined
}

/** Where an error reported to {@link Extension.onError} came from. */
export type ExtensionErrorContext = 'handler' | 'middleware' | 'invalidFrame' | 'transfer' | 'endpoint'

/**
 * Observes a connection: each hook is optional, may be async, and never affects the connection (its errors are
 * logged and dropped). Attach with {@link attachExtension} or `AIPEndpoint.use()`.
 */
export interface Extension {
  /** A name for logs. */
  readonly name?: string
  /** A message was sent; `bytes` is the frame's UTF-8 length. */
  onSend?: (message: AnyMessage, info: { readonly bytes: number }, context: ExtensionContext) => void | Promise<void>
  /** A message was received and decoded, before its handlers run. */
  onReceive?: (message: AnyMessage, info: { readonly bytes: number }, context: ExtensionContext) => void | Promise<void>
  /** A connection is established (called when attached to an open protocol). */
  onConnect?: (context: ExtensionContext) => void | Promise<void>
  /** The connection closed. */
  onClose?: (info: CloseInfo, context: ExtensionContext) => void | Promise<void>
  /** Something went wrong on the connection (a handler threw, a frame was invalid, a transfer failed). */
  onError?: (error: unknown, where: ExtensionErrorContext, context: ExtensionContext) => void | Promise<void>
}

/** Options of {@link attachExtension}. */
export interface AttachOptions {
  endpointId?: string | undefined
  /** Where hook errors are logged. Default: nowhere. */
  logger?: Logger | undefined
}

/**
 * Wires an extension to a protocol's events and calls `onConnect` at once. Returns the function that detaches
 * it; the extension is detached by itself after `onClose`.
 */
export function attachExtension<R extends ProtocolRole> (protocol: AIPProtocol<R>, extension: Extension, options: AttachOptions = {}): Unsubscribe {
  const context: ExtensionContext = Object.freeze({ endpointId: options.endpointId })
  const call = (hook: string, run: () => void | Promise<void>): void => {
    try {
      const result = run()
      if (result instanceof Promise) result.catch((err: unknown) => report(hook, err))
    } catch (err) {
      report(hook, err)
    }
  }
  const report = (hook: string, err: unknown): void => {
    options.logger?.warn({ err, extension: extension.name, hook }, 'extension hook threw')
  }
  const error = (err: unknown, where: ExtensionErrorContext): void => {
    if (extension.onError !== undefined) call('onError', () => extension.onError?.(err, where, context))
  }
  const subscriptions: Unsubscribe[] = [
    protocol.on('sent', ({ message, bytes }) => {
      if (extension.onSend !== undefined) call('onSend', () => extension.onSend?.(message, { bytes }, context))
    }),
    protocol.on('received', ({ message, bytes }) => {
      if (extension.onReceive !== undefined) call('onReceive', () => extension.onReceive?.(message, { bytes }, context))
    }),
    protocol.on('error', (event) => error(event.error, event.context)),
    protocol.on('invalidFrame', (event) => error(event.error, 'invalidFrame')),
    protocol.on('transferError', (event) => error(event.error, 'transfer')),
    protocol.on('close', (info) => {
      detach()
      if (extension.onClose !== undefined) call('onClose', () => extension.onClose?.(info, context))
    })
  ]
  const detach = (): void => {
    for (const unsubscribe of subscriptions) unsubscribe()
    subscriptions.length = 0
  }
  if (extension.onConnect !== undefined) call('onConnect', () => extension.onConnect?.(context))
  return detach
}
