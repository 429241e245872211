import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/** Debian's Chromium, driven by playwright-core (which never downloads a browser here). */
export const CHROMIUM = '/usr/bin/chromium'
export const INSTALL = 'apt-get update && apt-get install -y chromium'

/**
 * The browser, installed with apt when it is missing and we are root (as in CI); null when it cannot be.
 * `comment` reports the install in the TAP stream.
 */
export function chromiumPath (comment: (message: string) => void): string | null {
  if (existsSync(CHROMIUM)) return CHROMIUM
  if (process.getuid?.() !== 0) return null
  comment(`chromium is missing: running "${INSTALL}"`)
  // stdout is the TAP stream: apt's chatter goes to stderr.
  execFileSync('sh', ['-c', `${INSTALL} 1>&2`], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  return existsSync(CHROMIUM) ? CHROMIUM : null
}
