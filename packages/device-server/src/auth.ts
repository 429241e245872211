import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { ClientType } from '@aip/protocol'

/** A per-client key, as resolved: what a connection presenting it may register as. */
export interface ClientKey {
  readonly key: string
  /** The only role the key registers as. */
  readonly clientType: ClientType
  /** For a constellation key: the devices it may target; `null` for any (the `'*'` entry). */
  readonly targets: ReadonlySet<string> | null
}

/**
 * The credential a connection presented: none configured (`open`), the shared token (`shared`), or a per-client
 * key (`client`, bound to its client id, role and, for a constellation, targets). Connections handed over without
 * a request (in-process transports) are `trusted`.
 */
export type Credential =
  | { readonly kind: 'open' | 'shared' | 'trusted' }
  | { readonly kind: 'client', readonly clientId: string, readonly binding: ClientKey }

/** What the handshake check decided. `boundClientId` is the client id of a per-client key, `null` otherwise. */
export type AuthResult =
  | { readonly ok: true, readonly boundClientId: string | null, readonly credential: Credential }
  | { readonly ok: false, readonly status: 401 | 403, readonly reason: string }

/** The authentication and origin options, as resolved. */
export interface AuthOptions {
  readonly token: string | null
  readonly clientKeys: ReadonlyMap<string, ClientKey>
  readonly allowedOrigins: ReadonlySet<string> | null
  readonly allowedHosts: ReadonlySet<string> | null
}

const OPEN: Credential = Object.freeze({ kind: 'open' })
const SHARED: Credential = Object.freeze({ kind: 'shared' })
/** The credential of a connection handed over without a request. */
export const TRUSTED: Credential = Object.freeze({ kind: 'trusted' })

function digest (value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/** Compares two secrets in time that does not depend on where they differ, nor on their lengths. */
export function safeEqual (a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

function queryToken (url: string | undefined): string | null {
  if (url === undefined) return null
  const at = url.indexOf('?')
  if (at === -1) return null
  return new URLSearchParams(url.slice(at + 1)).get('token')
}

/**
 * Decides, from the upgrade request alone, whether a WebSocket may be opened: the `?token=` query against the
 * shared key or a per-client key (which then binds the client id), the Origin allow-list (a request without an
 * Origin, as the Python clients send, passes; a browser Origin must be listed), and the Host allow-list.
 */
export function authenticate (request: Pick<IncomingMessage, 'url' | 'headers'>, options: AuthOptions): AuthResult {
  const origin = request.headers.origin
  if (origin !== undefined && (options.allowedOrigins === null || !options.allowedOrigins.has(origin))) {
    return { ok: false, status: 403, reason: 'origin not allowed' }
  }
  if (options.allowedHosts !== null) {
    const host = request.headers.host
    if (host === undefined || !options.allowedHosts.has(host.toLowerCase())) {
      return { ok: false, status: 403, reason: 'host not allowed' }
    }
  }
  if (options.token === null && options.clientKeys.size === 0) return { ok: true, boundClientId: null, credential: OPEN }
  const token = queryToken(request.url)
  if (token === null || token === '') return { ok: false, status: 401, reason: 'missing token' }
  // Check every key so that the time taken does not tell which one matched.
  let shared = false
  if (options.token !== null) shared = safeEqual(token, options.token)
  let bound: string | null = null
  for (const [clientId, entry] of options.clientKeys) {
    if (safeEqual(token, entry.key)) bound = clientId
  }
  if (shared) return { ok: true, boundClientId: null, credential: SHARED }
  if (bound !== null) {
    return { ok: true, boundClientId: bound, credential: { kind: 'client', clientId: bound, binding: options.clientKeys.get(bound) as ClientKey } }
  }
  return { ok: false, status: 403, reason: 'invalid token' }
}
