import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** What the handshake check decided. */
export type AuthResult =
  | { readonly ok: true, readonly boundClientId: string | null }
  | { readonly ok: false, readonly status: 401 | 403, readonly reason: string }

/** The authentication and origin options, as resolved. */
export interface AuthOptions {
  readonly token: string | null
  readonly clientKeys: ReadonlyMap<string, string>
  readonly allowedOrigins: ReadonlySet<string> | null
  readonly allowedHosts: ReadonlySet<string> | null
}

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
  if (options.token === null && options.clientKeys.size === 0) return { ok: true, boundClientId: null }
  const token = queryToken(request.url)
  if (token === null || token === '') return { ok: false, status: 401, reason: 'missing token' }
  // Check every key so that the time taken does not tell which one matched.
  let shared = false
  if (options.token !== null) shared = safeEqual(token, options.token)
  let bound: string | null = null
  for (const [clientId, key] of options.clientKeys) {
    if (safeEqual(token, key)) bound = clientId
  }
  if (shared) return { ok: true, boundClientId: null }
  if (bound !== null) return { ok: true, boundClientId: bound }
  return { ok: false, status: 403, reason: 'invalid token' }
}
