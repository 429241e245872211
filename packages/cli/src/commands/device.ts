import { DeviceClientEndpoint } from '@aip/device-client'
import { McpExecutor, loadMcpConfig } from '@aip/mcp-executor'
import { CliError, ExitCode, optionalNumber, print, requireString, urlList, type Command, type Io } from '../cli.js'
import { builtinTools } from '../tools.js'

function list (value: unknown): string[] {
  if (value === undefined) return []
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string')
}

export const device: Command = {
  name: 'device',
  summary: 'Run a device agent with a safe built-in tool set until SIGINT or SIGTERM; it reconnects for ever.',
  usage: `Usage: aip device --url ws://HOST:PORT/ws?token=KEY [--url ...] --id ID [--platform linux] [--allow-dir DIR]...
                  [--allow-command NAME]... [--mcp-config FILE] [--telemetry-interval MS] [--no-continuity] [--json]

  --url            the server's WebSocket address, with its ?token=; repeat it (or join URLs with commas) for
                   the nodes of one fleet: they are tried in turn, from the one after a server lost or refused
  --id             the device's client id
  --platform       platform reported at registration (default: this machine's)
  --allow-dir      a folder list_dir, read_file and checksum may read (repeatable; none: file tools refuse)
  --allow-command  an executable run_command may start, without a shell (repeatable; none: no run_command)
  --mcp-config     a JSON file { "mcpServers": { NAME: { command, args, env } | { url } } }: the device's tools
                   are then those of these MCP servers (stdio or Streamable HTTP), not the built-in ones
  --telemetry-interval
                   push fresh telemetry (load, free memory, uptime) to the server every MS while registered
                   (default 0: at registration only)
  --no-continuity  do not ask the server for the continuity extension (resume after a link loss, cancellation,
                   deadlines): the REGISTER is then exactly the reference's
  --json           print state changes as JSON lines on stdout ({ device, state, url?, attempt?, delayMs?, cause? };
                   url: the server registered on, for "registered"),
                   and one line per COMMAND run or not run ({ device, command: executed | deduplicated |
                   notRun | timedOut, sessionId, responseId, resent, answer?, reason?, timeoutMs? })

The device reconnects with jittered backoff whenever its server goes away (to the next --url first; a server that
restarts on purpose and says when to come back is honoured, with jitter), for as long as it runs; it exits only
on SIGINT / SIGTERM or a refusal that retrying cannot heal (bad token, its id taken by another device).

Tools: echo, sleep, system_info, list_dir, read_file, checksum, and run_command when allowed; list_tools
describes them. With --mcp-config: the MCP servers' tools, named <server>.<tool> (or just <tool> when one
server has it); a server that dies is restarted, and each change is printed (JSON lines with --json).`,
  options: {
    url: { type: 'string', multiple: true },
    id: { type: 'string' },
    platform: { type: 'string' },
    'allow-dir': { type: 'string', multiple: true },
    'allow-command': { type: 'string', multiple: true },
    'mcp-config': { type: 'string' },
    'telemetry-interval': { type: 'string' },
    'no-continuity': { type: 'boolean' }
  },
  async run (values, io) {
    const wsUrl = urlList(values)
    const clientId = requireString(values, 'id')
    const json = values.json === true
    const mcp = typeof values['mcp-config'] === 'string' ? await mcpExecutor(values['mcp-config'], values, io, clientId, json) : undefined
    const tools = mcp === undefined ? builtinTools({ allowDirs: list(values['allow-dir']), allowCommands: list(values['allow-command']) }) : undefined
    const endpoint = new DeviceClientEndpoint({
      wsUrl,
      clientId,
      ...(mcp === undefined ? { tools } : { executor: mcp }),
      telemetryIntervalMs: Math.round(optionalNumber(values, 'telemetry-interval', 0)),
      continuity: values['no-continuity'] !== true,
      ...(typeof values.platform === 'string' ? { platform: values.platform } : {})
    })
    endpoint.on('state', ({ state }) => {
      const detail = state.kind === 'reconnecting'
        ? ` (attempt ${state.attempt}, in ${state.delayMs} ms: ${state.cause.kind}: ${state.cause.message})`
        : state.kind === 'registered' ? ` on ${endpoint.serverUrl}` : ''
      if (json) {
        const extra = state.kind === 'reconnecting'
          ? { attempt: state.attempt, delayMs: state.delayMs, cause: state.cause.kind }
          : state.kind === 'stopped'
            ? { reason: state.reason, failure: state.failure }
            : state.kind === 'registered' ? { url: endpoint.serverUrl } : {}
        io.stdout(`${JSON.stringify({ device: clientId, state: state.kind, ...extra })}\n`)
      } else {
        io.stderr(`device ${clientId}: ${state.kind}${detail}\n`)
      }
    })
    if (json) {
      // One line per execution and per COMMAND not run: a run can prove that no command ran twice.
      const commandLine = (command: string, event: object): void => { io.stdout(`${JSON.stringify({ device: clientId, command, ...event })}\n`) }
      endpoint.on('commandExecuted', (event) => commandLine('executed', event))
      endpoint.on('commandDeduplicated', (event) => commandLine('deduplicated', event))
      endpoint.on('commandNotRun', (event) => commandLine('notRun', event))
      endpoint.on('commandTimedOut', (event) => commandLine('timedOut', event))
    }
    // Servers that cannot be reached now are retried in the background; the device registers meanwhile.
    await mcp?.start()
    try {
      await endpoint.start()
    } catch (err) {
      await mcp?.close()
      throw new CliError(`device ${clientId} could not register: ${(err as Error).message}`, ExitCode.Refused)
    }
    const names = mcp === undefined
      ? Object.keys(tools ?? {})
      : mcp.listTools().map((info) => info.tool_key)
    print(io, false, null, () => `device ${clientId} registered; tools: ${names.join(', ')}`)
    const stopped = new Promise<'stopped'>((resolve) => endpoint.on('stopped', () => resolve('stopped')))
    const why = await Promise.race([io.interrupted, stopped])
    if (why !== 'stopped') {
      io.stderr(`${why}: stopping\n`)
      await endpoint.stop()
      await mcp?.close()
      return ExitCode.Ok
    }
    await mcp?.close()
    const state = endpoint.status
    if (state.kind === 'stopped' && state.reason !== 'stopped') {
      throw new CliError(`device ${clientId} stopped: ${state.error?.message ?? state.reason}`, ExitCode.Refused)
    }
    return ExitCode.Ok
  }
}

/** The MCP executor of `--mcp-config`, not started yet, its server changes printed. */
async function mcpExecutor (file: string, values: Record<string, unknown>, io: Io, clientId: string, json: boolean): Promise<McpExecutor> {
  if (values['allow-dir'] !== undefined || values['allow-command'] !== undefined) {
    throw new CliError('--mcp-config replaces the built-in tools: drop --allow-dir and --allow-command', ExitCode.Usage)
  }
  let mcp: McpExecutor
  try {
    mcp = new McpExecutor({ servers: await loadMcpConfig(file) })
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.Usage)
  }
  const report = (server: string, state: 'up' | 'down', detail: string, extra: Record<string, unknown>): void => {
    if (json) io.stdout(`${JSON.stringify({ device: clientId, mcpServer: server, state, ...extra })}\n`)
    else io.stderr(`device ${clientId}: MCP server ${server} ${state} (${detail})\n`)
  }
  mcp.on('serverUp', ({ server, tools }) => report(server, 'up', `${tools} tools`, { tools }))
  mcp.on('serverDown', ({ server, error }) => report(server, 'down', error, { error }))
  return mcp
}
