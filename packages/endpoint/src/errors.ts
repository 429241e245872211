import type { DecodedServerMessage } from '@aip/protocol'
import { createError } from '@fastify/error'

/** The transport is closed; the frame was not sent, or the awaited answer can no longer come. */
export const TransportClosedError = createError('AIP_ERR_ENDPOINT_TRANSPORT_CLOSED', 'The connection is closed', 500)

const ConnectErrorBase = createError('AIP_ERR_ENDPOINT_CONNECT', 'Cannot connect to %s: %s', 502)

/** A client WebSocket could not be opened. */
export type ConnectError = InstanceType<typeof ConnectErrorBase> & {
  /** The HTTP status of a refused upgrade (401, 403, ...), when the server answered one. */
  readonly httpStatus: number | undefined
  /** The URL, with its query values, password and fragment hidden ({@link redactUrl}). */
  readonly url: string
  /** Why the connection could not be opened (`aborted`, the socket error's text, ...). */
  readonly reason: string
}

/** Builds the `AIP_ERR_ENDPOINT_CONNECT` error. */
export function connectError (url: string, reason: string, httpStatus: number | undefined): ConnectError {
  const safe = redactUrl(url)
  const err = new ConnectErrorBase(safe, reason) as ConnectError
  Object.defineProperties(err, {
    httpStatus: { value: httpStatus, enumerable: true },
    url: { value: safe, enumerable: true },
    reason: { value: reason, enumerable: true }
  })
  return err
}

/** What a hidden part of a URL is replaced with. */
const REDACTED = '[redacted]'

/**
 * The URL (absolute, or a request's path and query) as it may be logged or put in an error message: the password
 * of its user info, the value of every query parameter and the fragment are replaced with `[redacted]`; the
 * scheme, host, path and the query's keys stay, so a log still tells which parameters were given.
 * `ws://h/ws?token=abc&x=1` becomes `ws://h/ws?token=[redacted]&x=[redacted]`. Every value is hidden, not only
 * those of secret-looking keys (`token`, `key`, `sig`...): no list of names can know every credential.
 * A URL without query, password or fragment is returned unchanged.
 */
export function redactUrl (url: string): string {
  const hash = url.indexOf('#')
  const beforeHash = hash === -1 ? url : url.slice(0, hash)
  const fragment = hash === -1 || hash === url.length - 1 ? url.slice(hash === -1 ? url.length : hash) : `#${REDACTED}`
  const query = beforeHash.indexOf('?')
  const base = query === -1 ? beforeHash : beforeHash.slice(0, query)
  const search = query === -1 ? '' : `?${redactQuery(beforeHash.slice(query + 1))}`
  return `${redactPassword(base)}${search}${fragment}`
}

/** `a=1&b&c=` becomes `a=[redacted]&b&c=`: keys kept, non-empty values hidden. */
function redactQuery (query: string): string {
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=')
    return eq === -1 || eq === pair.length - 1 ? pair : `${pair.slice(0, eq + 1)}${REDACTED}`
  }).join('&')
}

/** `ws://user:secret@host/p` becomes `ws://user:[redacted]@host/p`; anything else is returned unchanged. */
function redactPassword (base: string): string {
  const scheme = base.indexOf('://')
  if (scheme === -1) return base
  const authorityStart = scheme + 3
  const slash = base.indexOf('/', authorityStart)
  const authority = slash === -1 ? base.slice(authorityStart) : base.slice(authorityStart, slash)
  const at = authority.lastIndexOf('@')
  if (at === -1) return base
  const colon = authority.indexOf(':')
  if (colon === -1 || colon > at) return base
  const rest = slash === -1 ? '' : base.slice(slash)
  return `${base.slice(0, authorityStart)}${authority.slice(0, colon + 1)}${REDACTED}${authority.slice(at)}${rest}`
}

export { ConnectErrorBase as ConnectErrorConstructor }

/**
 * The shared errors of `@aip/resilience` (`AIP_ERR_INVALID_OPTION`, `AIP_ERR_INVALID_ARGUMENT`), re-exported
 * under their names so that code importing them from this package keeps working.
 */
export { InvalidArgumentError, InvalidOptionError } from '@aip/resilience'

/** A lifecycle transition that the endpoint's table does not allow (a programming error in a subclass). */
export const InvalidStateTransitionError = createError(
  'AIP_ERR_ENDPOINT_INVALID_STATE', 'Invalid state transition from %s to %s', 500
)

/** The endpoint has no open connection (not started, stopped, or between two reconnections). */
export const NotConnectedError = createError('AIP_ERR_ENDPOINT_NOT_CONNECTED', 'The endpoint is not connected', 503)

/** A binary frame arrived that no `binary_data` metadata frame announced (reference bug B17). */
export const UnexpectedBinaryError = createError(
  'AIP_ERR_ENDPOINT_UNEXPECTED_BINARY', 'Unexpected binary frame of %d bytes outside a transfer', 400
)

/** A received payload or file does not match the MD5 checksum its sender announced. */
export const TransferChecksumError = createError(
  'AIP_ERR_ENDPOINT_TRANSFER_CHECKSUM', 'Checksum mismatch for %s: expected %s, got %s', 400
)

/** A received payload, chunk or file does not have the size its sender announced. */
export const TransferSizeError = createError(
  'AIP_ERR_ENDPOINT_TRANSFER_SIZE', 'Size mismatch for %s: %s', 400
)

/** A transfer frame arrived out of sequence: an unknown transfer, a chunk out of order, a wrong chunk count. */
export const TransferOrderError = createError(
  'AIP_ERR_ENDPOINT_TRANSFER_ORDER', 'Transfer frame out of order for %s: %s', 400
)

/** A transfer announces more bytes than `maxFileBytes` allows; it is refused and its frames are discarded. */
export const TransferTooLargeError = createError(
  'AIP_ERR_ENDPOINT_TRANSFER_TOO_LARGE', 'Transfer %s of %d bytes exceeds the limit of %d bytes', 413
)

/** More transfers are open at once than `maxConcurrentTransfers` allows; the new one is refused. */
export const TransferLimitError = createError(
  'AIP_ERR_ENDPOINT_TRANSFER_LIMIT', 'Transfer %s refused: %d transfers are already open', 429
)

/** Why a registration was refused: the server's ERROR, another answer, a close, or an undecodable answer. */
export type RegistrationRefusal = 'error' | 'unexpected_answer' | 'closed' | 'invalid_answer'

const RegistrationRefusedErrorBase = createError<'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED', 403, [string]>(
  'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED', 'Registration refused: %s', 403
)

/**
 * The server answered a REGISTER with an ERROR or another non-ok answer, or closed the connection instead
 * (`AIP_ERR_ENDPOINT_REGISTRATION_REFUSED`). `answer` keeps the server's answer (the ERROR frame), `reason` its
 * text, `refusal` the kind of refusal.
 */
export class RegistrationRefusedError extends RegistrationRefusedErrorBase {
  /** The server's error text, or a description of what happened instead of an answer. */
  readonly reason: string
  /** What happened: `error` (an ERROR), `unexpected_answer`, `closed` or `invalid_answer`. */
  readonly refusal: RegistrationRefusal
  /** The server's answer, when it answered with a frame we could decode. */
  readonly answer: DecodedServerMessage | null

  /**
   * @param reason - the server's text, or what happened
   * @param details - the kind of refusal (default `error`), the server's answer and the `cause`
   */
  constructor (reason: string, details: { refusal?: RegistrationRefusal, answer?: DecodedServerMessage | null, cause?: unknown } = {}) {
    super(reason)
    this.name = 'RegistrationRefusedError'
    this.reason = reason
    this.refusal = details.refusal ?? 'error'
    this.answer = details.answer ?? null
    if (details.cause !== undefined) this.cause = details.cause
  }
}

const RegistrationTimeoutErrorBase = createError<'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT', 504, [number]>(
  'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT', 'No answer to the registration within %d ms', 504
)

/** The server did not answer a REGISTER before the deadline (`AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT`). */
export class RegistrationTimeoutError extends RegistrationTimeoutErrorBase {
  /** The deadline that passed, in ms. */
  readonly timeoutMs: number

  /**
   * @param timeoutMs - the deadline that passed, in ms
   * @param options - `cause`: the timeout error
   */
  constructor (timeoutMs: number, options: { cause?: unknown } = {}) {
    super(timeoutMs)
    this.name = 'RegistrationTimeoutError'
    this.timeoutMs = timeoutMs
    if (options.cause !== undefined) this.cause = options.cause
  }
}

const RequestRefusedErrorBase = createError<'AIP_ERR_ENDPOINT_REQUEST_REFUSED', 400, [string, string]>(
  'AIP_ERR_ENDPOINT_REQUEST_REFUSED', 'The server refused the %s: %s', 400
)

/**
 * The server answered a TASK or a DEVICE_INFO_REQUEST with an ERROR (`AIP_ERR_ENDPOINT_REQUEST_REFUSED`).
 * `reason` is the server's text, `answer` its frame.
 */
export class RequestRefusedError extends RequestRefusedErrorBase {
  /** What was refused (`task`, `device info request`). */
  readonly request: string
  /** The server's error text. */
  readonly reason: string
  /** The server's answer, when there was one. */
  readonly answer: DecodedServerMessage | null

  /**
   * @param request - what was refused
   * @param reason - the server's text
   * @param answer - the server's answer frame
   */
  constructor (request: string, reason: string, answer: DecodedServerMessage | null = null) {
    super(request, reason)
    this.name = 'RequestRefusedError'
    this.request = request
    this.reason = reason
    this.answer = answer
  }
}

/** The sender gave up a transfer part-way (its source failed or was aborted); the receiver dropped it. */
export const TransferAbortedError = createError(
  'AIP_ERR_ENDPOINT_TRANSFER_ABORTED', 'The sender aborted %s: %s', 400
)
