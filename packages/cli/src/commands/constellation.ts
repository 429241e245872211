import { ConstellationEndpoint } from '@aip/constellation'
import { CliError, ExitCode, optionalNumber, print, requireString, urlList, type Command } from '../cli.js'

/** Maps an error of the constellation to the exit code that says what happened. */
function fail (err: unknown, what: string): CliError {
  const error = err as { code?: string, message?: string }
  const message = `${what}: ${error.message ?? String(err)}`
  if (/is not connected/.test(error.message ?? '')) return new CliError(message, ExitCode.NotFound)
  switch (error.code) {
    case 'AIP_ERR_CONSTELLATION_CONNECT':
    case 'AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED':
      return new CliError(message, ExitCode.Refused)
    case 'AIP_ERR_CONSTELLATION_REGISTRATION_TIMEOUT':
    case 'AIP_ERR_TIMEOUT':
      return new CliError(message, ExitCode.Timeout)
    default:
      return new CliError(message, ExitCode.TaskFailed)
  }
}

/**
 * Connects a one-device constellation, runs `work`, and always stops it. With `resume`, a connection that drops is
 * reconnected, so that a server granting continuity can resume the task (a server that grants nothing fails it at
 * the drop, as without); otherwise the device is given up at the first drop.
 */
async function withDevice<T> (
  url: string[], deviceId: string, taskName: string, work: (c: ConstellationEndpoint) => Promise<T>, io: { stderr: (s: string) => void },
  { continuity = true, resume = false }: { continuity?: boolean, resume?: boolean } = {}
): Promise<T> {
  const constellation = new ConstellationEndpoint({ taskName, continuity })
  constellation.on('deviceState', ({ deviceId: id, to, serverUrl }) => io.stderr(`device ${id}: ${to}${url.length > 1 ? ` (${serverUrl})` : ''}\n`))
  constellation.on('deviceAway', ({ deviceId: id, windowMs }) => io.stderr(`device ${id}: connection lost, the task waits up to ${windowMs} ms for the resume\n`))
  constellation.on('deviceResumed', ({ deviceId: id }) => io.stderr(`device ${id}: resumed\n`))
  try {
    try {
      await constellation.connectToDevice({ deviceId, serverUrl: url, ...(resume ? {} : { maxRetries: 0 }) })
    } catch (err) {
      throw fail(err, `cannot reach device ${deviceId}`)
    }
    return await work(constellation)
  } finally {
    await constellation.stop()
  }
}

export const task: Command = {
  name: 'task',
  summary: 'Send one task to a device and print its TASK_END; exit 0 only when it completed.',
  usage: `Usage: aip task --url ws://HOST:PORT/ws?token=KEY [--url ...] --device ID --request TEXT [--task-name NAME]
                [--timeout SECONDS] [--no-continuity] [--json]

  --url        the server's WebSocket address, with its ?token=; repeat it (or join URLs with commas) for the
               nodes of one fleet: they are tried in turn
  --device     the device that runs the task
  --request    what to do (with the default server agent: a tool name and its parameters, or a JSON plan)
  --task-name  the orchestrator's task name (default "aip_cli"); the session is <task-name>@<uuid>
  --timeout    seconds to wait for the TASK_END (default 120)
  --no-continuity
               do not ask the server for task continuity (the reference REGISTER): by default a server that grants
               it resumes the task after a network cut, cancels it on Ctrl-C or --timeout, and enforces the timeout
  --json       print the TASK_END as JSON

Exit codes: 0 completed, 1 failed, 2 usage, 3 refused or unreachable, 4 timeout, 5 device not connected.`,
  options: {
    url: { type: 'string', multiple: true },
    device: { type: 'string' },
    request: { type: 'string' },
    'task-name': { type: 'string' },
    timeout: { type: 'string' },
    'no-continuity': { type: 'boolean' }
  },
  async run (values, io) {
    const url = urlList(values)
    const deviceId = requireString(values, 'device')
    const request = requireString(values, 'request')
    const continuity = values['no-continuity'] !== true
    const taskName = typeof values['task-name'] === 'string' ? values['task-name'] : 'aip_cli'
    const timeoutMs = optionalNumber(values, 'timeout', 120, { min: 0.001 }) * 1000
    const end = await withDevice(url, deviceId, taskName, async (constellation) => {
      const controller = new AbortController()
      io.interrupted.then(() => controller.abort(), () => {})
      try {
        return await constellation.sendTaskToDevice(deviceId, { request, taskName, timeoutMs, signal: controller.signal })
      } catch (err) {
        throw fail(err, 'the task did not end')
      }
    }, io, { continuity, resume: continuity })
    print(io, values.json === true, { session_id: end.sessionId, device: end.deviceId, status: end.status, error: end.error, result: end.result }, () => {
      const result = JSON.stringify(end.result, null, 2)
      const shown = result.length > 4000 ? `${result.slice(0, 4000)}\n... (${result.length} characters; --json prints all)` : result
      return `task ${end.sessionId} on ${end.deviceId}: ${end.status}${end.error === null ? '' : ` (${end.error})`}\n${shown}`
    })
    return end.status === 'completed' ? ExitCode.Ok : ExitCode.TaskFailed
  }
}

export const info: Command = {
  name: 'info',
  summary: "Print a device's telemetry, as its server has it.",
  usage: `Usage: aip info --url ws://HOST:PORT/ws?token=KEY [--url ...] --device ID [--json]

  --url      the server's WebSocket address, with its ?token=; repeatable (the nodes of one fleet, tried in turn)
  --device   the device
  --json     print the telemetry as JSON`,
  options: {
    url: { type: 'string', multiple: true },
    device: { type: 'string' }
  },
  async run (values, io) {
    const url = urlList(values)
    const deviceId = requireString(values, 'device')
    const telemetry = await withDevice(url, deviceId, 'aip_cli_info', async (constellation) => {
      try {
        return await constellation.requestDeviceInfo(deviceId)
      } catch (err) {
        throw fail(err, 'no device info')
      }
    }, io)
    print(io, values.json === true, telemetry, () => JSON.stringify(telemetry, null, 2))
    return ExitCode.Ok
  }
}
