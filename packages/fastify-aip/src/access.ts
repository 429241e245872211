import { createHmac, randomBytes } from 'node:crypto'
import { safeEqual } from '@aip/device-server/internal'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { refuseLimited, type AuthFailureLimiter } from './auth-limiter.js'
import { InvalidApiKeyError, MissingApiKeyError } from './errors.js'

/** The key a request presents: `X-API-Key`, else `Authorization: Bearer <key>` (what Prometheus sends). */
export function presentedKey (request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  const authorization = request.headers.authorization
  if (typeof authorization === 'string' && authorization.startsWith('Bearer ') && authorization.length > 7) return authorization.slice(7)
  return undefined
}

/**
 * An `onRequest` hook that lets a request through when it presents `apiKey` (see {@link presentedKey}) or, when
 * `cookie` is given, carries that session cookie; 401 `AIP_ERR_FASTIFY_MISSING_API_KEY` or
 * `AIP_ERR_FASTIFY_INVALID_API_KEY` otherwise, counted by `limiter`. An address the limiter refuses gets 429
 * `AIP_ERR_FASTIFY_AUTH_RATE_LIMITED` before its credentials are looked at.
 */
export function keyGuard (apiKey: string, cookie?: SessionCookie, limiter: AuthFailureLimiter | null = null): onRequestHookHandler {
  return function guard (request, reply, done) {
    const limited = refuseLimited(limiter, request, reply)
    if (limited !== null) { done(limited); return }
    const key = presentedKey(request)
    const error = key === undefined
      ? cookie?.valid(request) === true ? null : new MissingApiKeyError()
      : safeEqual(key, apiKey) ? null : new InvalidApiKeyError()
    if (error === null) { done(); return }
    limiter?.fail(request.ip)
    done(error)
  }
}

/**
 * The session cookie of a person logged in with the API key: an HMAC of the key under a secret drawn when the
 * process starts, so that the key itself never sits in a browser and every session ends with the process.
 */
export class SessionCookie {
  readonly name: string
  readonly #value: string

  constructor (name: string, apiKey: string) {
    this.name = name
    this.#value = createHmac('sha256', randomBytes(32)).update(apiKey).digest('base64url')
  }

  /** The `Set-Cookie` header value that logs a person in on `path`. */
  header (path: string, secure: boolean): string {
    return `${this.name}=${this.#value}; Path=${path}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
  }

  /** The `Set-Cookie` header value that logs out. */
  clear (path: string): string {
    return `${this.name}=; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=0`
  }

  valid (request: FastifyRequest): boolean {
    const header = request.headers.cookie
    if (typeof header !== 'string') return false
    for (const part of header.split(';')) {
      const index = part.indexOf('=')
      if (index !== -1 && part.slice(0, index).trim() === this.name && safeEqual(part.slice(index + 1).trim(), this.#value)) return true
    }
    return false
  }
}
