import createError from '@fastify/error'

/** The transport is closed; the frame was not sent. */
export const TransportClosedError = createError('AIP_ERR_ENDPOINT_TRANSPORT_CLOSED', 'The connection is closed', 500)

const ConnectErrorBase = createError('AIP_ERR_ENDPOINT_CONNECT', 'Cannot connect to %s: %s', 502)

/** A client WebSocket could not be opened. */
export type ConnectError = InstanceType<typeof ConnectErrorBase> & {
  /** The HTTP status of a refused upgrade (401, 403, ...), when the server answered one. */
  readonly httpStatus: number | undefined
}

/** Builds the `AIP_ERR_ENDPOINT_CONNECT` error. */
export function connectError (url: string, reason: string, httpStatus: number | undefined): ConnectError {
  const err = new ConnectErrorBase(redactUrl(url), reason) as ConnectError
  Object.defineProperty(err, 'httpStatus', { value: httpStatus, enumerable: true })
  return err
}

/** The URL without its query, so that a `?token=` never reaches a log or an error message. */
export function redactUrl (url: string): string {
  const at = url.indexOf('?')
  return at === -1 ? url : `${url.slice(0, at)}?…`
}

export { ConnectErrorBase as ConnectErrorConstructor }
