import type { ClientMessage, ClientType, DecodedClientMessage, DecodedServerMessage } from '@aip/protocol'
import { TimeoutError } from '@aip/resilience'
import { RegistrationRefusedError, RegistrationTimeoutError, TransportClosedError } from '../errors.js'
import type { AIPProtocol } from '../protocol/index.js'

/** Options of {@link register}. */
export interface RegisterOptions {
  /** Deadline for the server's answer. Default 10000 ms. */
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * The client side of registration: sends the REGISTER and waits for the first server frame. HEARTBEAT `ok` means
 * registered (resolves with it); an ERROR or any other answer rejects with `AIP_ERR_ENDPOINT_REGISTRATION_REFUSED`
 * keeping the answer (`err.answer`, the ERROR frame; `err.reason`, its text; `err.refusal`, `error` or
 * `unexpected_answer`), so a caller needs no listener of its own; a close (`refusal: 'closed'`) or an undecodable
 * frame (`invalid_answer`) before an answer rejects the same way (the reference closes silently on a bad REGISTER). No answer in time rejects with `AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT`.
 */
export async function register (
  protocol: AIPProtocol<'client'>, message: ClientMessage, options: RegisterOptions = {}
): Promise<DecodedServerMessage> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const controller = new AbortController()
  const onAbort = (): void => { controller.abort(options.signal?.reason) }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  let invalid: string | undefined
  const offInvalid = protocol.on('invalidFrame', ({ error }) => {
    invalid = error.message
    controller.abort()
  })
  const answer = protocol.receive('*', { timeoutMs, signal: controller.signal })
  answer.catch(() => {})
  try {
    if (options.signal?.aborted === true) controller.abort(options.signal.reason)
    await protocol.send(message)
    const reply = await answer
    if (reply.type === 'heartbeat' && reply.status === 'ok') return reply
    if (reply.type === 'error') throw new RegistrationRefusedError(reply.error ?? 'no reason given', { answer: reply })
    throw new RegistrationRefusedError(`unexpected ${reply.type} (${reply.status})`, { refusal: 'unexpected_answer', answer: reply })
  } catch (err) {
    controller.abort()
    if (err instanceof RegistrationRefusedError) throw err
    if (invalid !== undefined) throw new RegistrationRefusedError(`invalid answer: ${invalid}`, { refusal: 'invalid_answer', cause: err })
    if (err instanceof TimeoutError) throw new RegistrationTimeoutError(timeoutMs, { cause: err })
    if (err instanceof TransportClosedError) {
      throw new RegistrationRefusedError('the server closed the connection without an answer', { refusal: 'closed', cause: err })
    }
    throw err
  } finally {
    offInvalid()
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/** A valid REGISTER, reduced to the identity it claims. */
export interface RegistrationClaim {
  readonly clientId: string
  readonly clientType: ClientType
  /** The device a constellation is scoped to, or `null` (unscoped, or a device). */
  readonly targetId: string | null
  readonly metadata: Record<string, unknown> | null
}

/** Why {@link validateRegistration} refused a first message: not a REGISTER, or a REGISTER without `client_id`. */
export type RegistrationShapeRefusal = 'not_register' | 'no_client_id'

/**
 * The outcome of {@link validateRegistration}: the claim, or why it was refused (`refusal`, for a server that words
 * its own ERROR) with a default ERROR text to send before closing.
 */
export type RegistrationCheck =
  | { readonly ok: true, readonly claim: RegistrationClaim }
  | { readonly ok: false, readonly refusal: RegistrationShapeRefusal, readonly error: string }

/**
 * The server side: checks that the first message of a connection is a REGISTER with a non-empty `client_id` (as
 * the reference server: any non-empty string is an id). Policy (duplicates, targets, credentials) is the
 * server's; this only checks the shape.
 */
export function validateRegistration (message: DecodedClientMessage): RegistrationCheck {
  if (message.type !== 'register') {
    return { ok: false, refusal: 'not_register', error: `The first message must be register, got ${message.type}` }
  }
  if (typeof message.client_id !== 'string' || message.client_id === '') {
    return { ok: false, refusal: 'no_client_id', error: 'client_id is required to register' }
  }
  return {
    ok: true,
    claim: {
      clientId: message.client_id,
      clientType: message.client_type,
      targetId: message.client_type === 'constellation' ? message.target_id : null,
      metadata: message.metadata
    }
  }
}
