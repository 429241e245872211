import { CliError, ExitCode, print, requireString, type Command } from '../cli.js'

export const clients: Command = {
  name: 'clients',
  summary: 'List the clients connected to a server, through its HTTP API.',
  usage: `Usage: aip clients --url http://HOST:PORT --api-key KEY [--json]

  --url       the server's HTTP address
  --api-key   the key of its X-API-Key header
  --json      print the answer as JSON`,
  options: {
    url: { type: 'string' },
    'api-key': { type: 'string' }
  },
  async run (values, io) {
    const base = requireString(values, 'url').replace(/\/+$/, '')
    const apiKey = requireString(values, 'api-key')
    let response: Response
    try {
      response = await fetch(`${base}/api/clients`, { headers: { 'x-api-key': apiKey }, signal: AbortSignal.timeout(10_000) })
    } catch (err) {
      throw new CliError(`cannot reach ${base}: ${(err as Error).message}`, ExitCode.Refused)
    }
    if (response.status === 401 || response.status === 403) throw new CliError(`the server refused the API key (HTTP ${response.status})`, ExitCode.Refused)
    if (!response.ok) throw new CliError(`the server answered HTTP ${response.status}`, ExitCode.Internal)
    const body = await response.json() as { online_clients?: string[] }
    const ids = body.online_clients ?? []
    print(io, values.json === true, body, () => ids.length === 0 ? 'no client connected' : ids.join('\n'))
    return ExitCode.Ok
  }
}
