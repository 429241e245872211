import { randomBytes } from 'node:crypto'

/** The deployment an attack runs against. */
export interface Target {
  /** The WebSocket route without query, `ws://host:port/ws`. */
  readonly wsUrl: string
  /** The HTTP origin, `http://host:port`. */
  readonly httpUrl: string
  /** The shared `?token=`, or null when the server takes none. */
  readonly token: string | null
  /** The `X-API-Key` of the HTTP API, or null when it is not served. */
  readonly apiKey: string | null
  /** Prefix of the HTTP API. */
  readonly prefix: string
  /** Per-client keys the attacker is assumed to hold (a stolen device key): client id → key. */
  readonly clientKeys: Readonly<Record<string, string>>
}

/** What one attack found: `refused` is true when the server held. */
export interface ProbeResult {
  readonly name: string
  readonly refused: boolean
  readonly detail: string
}

/** The WebSocket URL with `?token=` (the shared token unless another key is given). */
export function wsUrl (target: Target, token: string | null = target.token): string {
  return token === null ? target.wsUrl : `${target.wsUrl}?token=${encodeURIComponent(token)}`
}

/** A client id no real client uses, so that attacks never collide with a deployment's devices. */
export function uniqueId (label: string): string {
  return `sec-${label}-${randomBytes(4).toString('hex')}`
}

/** `host` and `port` of the target. */
export function hostPort (target: Target): { host: string, port: number } {
  const url = new URL(target.httpUrl)
  return { host: url.hostname, port: Number(url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : url.port) }
}
