import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'tap'
import { ExitCode, main, type Io } from '../src/index.js'
import { serveInProcess } from './helpers/serve.js'

/**
 * The backlog the kernel gives the listening socket on `port`, read with iproute2's `ss` (for a listening socket,
 * its Send-Q column is the backlog); null when `ss` fails.
 */
function listenBacklog (port: number): number | null {
  const run = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' })
  if (run.error !== undefined || run.status !== 0) return null
  const fields = run.stdout.trim().split(/\s+/)
  return Number(fields[2])
}

/** The kernel's cap on a backlog (`net.core.somaxconn`). */
function somaxconn (): number {
  return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim())
}

/** False when `ss` runs here (installed with apt-get first when missing and running as root); else why not. */
function ssMissing (): string | false {
  const hasSs = (): boolean => spawnSync('ss', ['-V'], { stdio: 'ignore' }).status === 0
  if (hasSs()) return false
  if (process.getuid?.() === 0) {
    spawnSync('apt-get', ['install', '-y', 'iproute2'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore', timeout: 300_000 })
    if (hasSs()) return false
  }
  return '`ss` is missing: install the Debian package iproute2 to read the listening socket\'s backlog'
}

test('aip serve listens with a backlog of 4096 by default, and --backlog sets it', { skip: ssMissing() }, async (t) => {
  const portOf = (httpUrl: string): number => Number(new URL(httpUrl).port)
  const byDefault = await serveInProcess([])
  const defaultBacklog = listenBacklog(portOf(byDefault.httpUrl))
  t.equal(await byDefault.stop(), ExitCode.Ok)
  const short = await serveInProcess(['--backlog', '64'])
  const shortBacklog = listenBacklog(portOf(short.httpUrl))
  t.equal(await short.stop(), ExitCode.Ok)
  t.equal(defaultBacklog, Math.min(4096, somaxconn()), 'the default, as far as the kernel allows')
  t.equal(shortBacklog, 64)
})

test('aip serve --backlog refuses what is not a whole number of at least 1', async (t) => {
  for (const value of ['0', '-5', 'many', '2.5']) {
    const stderr: string[] = []
    const io: Io = { stdout: () => {}, stderr: (text) => { stderr.push(text) }, interrupted: new Promise<string>(() => {}), env: {} }
    t.equal(await main(['serve', '--port', '0', `--backlog=${value}`], io), ExitCode.Usage, value)
    t.match(stderr.join(''), /--backlog must be/, `${value}: the message names the flag`)
  }
})
