/**
 * The security suite as a script.
 *
 *   node dist/security/main.js
 *     starts a local fastify-aip server on 127.0.0.1 and runs the probes and every attack against it.
 *
 *   node dist/security/main.js --url http://HOST:PORT --token TOKEN [--api-key KEY] [--client-key ID=KEY]
 *                              [--path /ws] [--prefix /api] [--only id,id] [--quick]
 *     runs the attacks against your own deployment, sized for fastify-aip's default limits. They open many
 *     connections and tasks and send large frames: point it at a staging server, never at one serving users.
 *     `--quick` runs them at reduced sizes (for a server configured with small limits). The raw-socket attacks
 *     (idle connections, an unauthenticated body) speak plain HTTP: behind a TLS terminator, aim at the backend.
 *
 * Exit code 0 when every attack was refused, 1 otherwise, 2 for a bad command line.
 */
import { print, verdict } from '../report.js'
import { ATTACKS, runAttacks } from './attacks/index.js'
import { run } from './run.js'
import { startLocalTarget } from './local.js'
import type { ProbeResult, Target } from './target.js'

function arg (name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? undefined : process.argv[index + 1]
}

function args (name: string): string[] {
  const values: string[] = []
  process.argv.forEach((value, index) => { if (value === `--${name}` && process.argv[index + 1] !== undefined) values.push(process.argv[index + 1] as string) })
  return values
}

function usage (message: string): never {
  process.stderr.write(`${message}\nattacks: ${ATTACKS.map((a) => a.id).join(', ')}\n`)
  process.exit(2)
}

function report (results: readonly ProbeResult[]): boolean {
  for (const r of results) print(`  [${r.refused ? 'refused' : 'NOT REFUSED'}] ${r.name}: ${r.detail}`)
  const violations = results.filter((r) => !r.refused).map((r) => `${r.name}: ${r.detail}`)
  print(verdict(violations))
  return violations.length === 0
}

const url = arg('url')
const only = arg('only')?.split(',').map((id) => id.trim()) ?? null
if (only !== null) for (const id of only) if (!ATTACKS.some((a) => a.id === id)) usage(`unknown attack "${id}"`)

if (url === undefined) {
  const probes = await run()
  print(probes.text)
  const { server, target } = await startLocalTarget({ clientKeys: { dev1: 'dev1-secret' }, takeoverProbeMs: 500, maxOutboundBytes: 256 * 1024, headersTimeoutMs: 2000, maxSessionsPerClient: 100 })
  print('attacks (local server, reduced sizes):')
  const ok = report(await runAttacks(target, { full: false, only }))
  await server.close()
  process.exit(probes.ok && ok ? 0 : 1)
} else {
  let http: URL
  try { http = new URL(url) } catch { usage(`--url must be an http(s) URL, got "${url}"`) }
  if (http.protocol !== 'http:' && http.protocol !== 'https:') usage('--url must be http:// or https://')
  const clientKeys: Record<string, string> = {}
  for (const pair of args('client-key')) {
    const at = pair.indexOf('=')
    if (at <= 0) usage(`--client-key must be ID=KEY, got "${pair}"`)
    clientKeys[pair.slice(0, at)] = pair.slice(at + 1)
  }
  const origin = `${http.protocol}//${http.host}`
  const target: Target = {
    wsUrl: `${http.protocol === 'https:' ? 'wss' : 'ws'}://${http.host}${arg('path') ?? '/ws'}`,
    httpUrl: origin,
    token: arg('token') ?? null,
    apiKey: arg('api-key') ?? null,
    prefix: arg('prefix') ?? '/api',
    clientKeys
  }
  print(`attacks against ${origin} (sized for the default limits; this loads the server):`)
  const ok = report(await runAttacks(target, { full: !process.argv.includes('--quick'), only }))
  process.exit(ok ? 0 : 1)
}
