import type { Test } from 'tap'
import { TestClient, echoDevice, until, type Teardown } from './client.js'
import { sameAsReference } from './compare.js'
import { frameObject, transcript, type WireLine } from './wire.js'

/*
 * The reference conversations replayed against a server, whatever serves it (a Node HTTP server, a Fastify app,
 * injectWS...): each server package runs these against every adapter it has.
 */

/** A server under test, as the replays reach it. */
export interface ReplayServer {
  /** Opens a new WebSocket to the AIP path, already past any token check. */
  connect: (t: Teardown) => Promise<TestClient>
  /** The ids of the registered clients, as the server lists them (checked at the end of the error matrix). */
  clientIds: () => string[]
  /** A finished task's record, read back from the server, when the adapter exposes one. */
  result?: (sessionId: string) => unknown
}

/** The error-matrix answers we give on purpose instead of the reference's (B13: an ERROR before the close; B11). */
const BETTER: Record<number, { error: RegExp, close?: number }> = {
  // A malformed or wrong first frame gets an ERROR before the close, never a silent close (B13).
  5: { error: /^The first message must be a REGISTER$/, close: 4002 },
  6: { error: /^REGISTER requires a non-empty client_id$/, close: 4002 },
  7: { error: /^Invalid client message: \/status is required$/, close: 4002 },
  8: { error: /^Frame is not valid JSON/, close: 4002 },
  // Device info is scoped: an unscoped constellation reads nothing (B11).
  47: { error: /^Not authorized to request device info for this device$/ },
  49: { error: /^Not authorized to request device info for this device$/ }
}

/** Reference answers that leak pydantic internals (B12): only their kind is compared. */
const PYDANTIC_TEXTS = new Set([24, 26, 28])

/** How the reference closed after its answer (from connections.json); we close with 4002 after a refused REGISTER. */
const CLOSED_AFTER = new Set([4, 10])

/**
 * S2: every probe connection of the error matrix, replayed in order. Each answer is the reference's (same text,
 * connection kept open), or the documented better answer; at the end the long-lived device is still registered.
 */
export async function replayErrorMatrix (t: Test, server: ReplayServer): Promise<void> {
  const byConn = new Map<string, WireLine[]>()
  for (const line of transcript('s2-error-matrix.jsonl')) byConn.set(line.conn, [...(byConn.get(line.conn) ?? []), line])
  let holder: TestClient | undefined
  for (const [conn, lines] of byConn) {
    const client = await server.connect(t)
    if (conn === 'raw:probe3') holder = client
    const registered = { clientId: '', clientType: 'device' }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as WireLine
      if (line.dir !== 'client->server') continue
      const frame = line.frame as Record<string, unknown>
      if (typeof frame === 'object' && frame.type === 'register' && i === 0) {
        registered.clientId = String(frame.client_id)
        registered.clientType = String(frame.client_type ?? 'device')
      }
      client.send(line.frame)
      const better = BETTER[line.seq]
      const next = lines[i + 1]
      if (better !== undefined) {
        const answer = await client.next()
        t.equal(answer.type, 'error', `${conn} seq ${line.seq}: an ERROR`)
        t.match(answer.error, better.error, `${conn} seq ${line.seq}: ${String(better.error)}`)
        if (better.close !== undefined) t.equal((await client.closed).code, better.close, `${conn}: then a close`)
        continue
      }
      if (next?.dir === 'server->client') {
        const answer = await client.next()
        if (PYDANTIC_TEXTS.has(next.seq)) {
          t.equal(answer.type, 'error', `${conn} seq ${next.seq}: an ERROR`)
          t.ok(typeof answer.error === 'string' && answer.error.length > 0, `${conn} seq ${next.seq}: with a clear text: ${String(answer.error)}`)
          t.notMatch(answer.error, /pydantic|validation error for/, 'no library internals')
        } else {
          sameAsReference(t, answer, next.frame as Record<string, unknown>, `${conn} seq ${next.seq}`)
        }
        if (CLOSED_AFTER.has(next.seq)) t.equal((await client.closed).code, 4002, `${conn}: closed after the refusal`)
        continue
      }
      // The reference sends nothing for this frame: a heartbeat right after must be the next answer.
      const answer = await client.ask({ type: 'heartbeat', status: 'ok', client_type: registered.clientType, client_id: registered.clientId })
      t.same([answer.type, answer.status], ['heartbeat', 'ok'], `${conn} seq ${line.seq}: no answer, connection still open`)
    }
    if (client !== holder) client.ws.close()
  }
  t.ok(holder, 'devA stayed registered through the run')
  const beat = await (holder as TestClient).ask({ type: 'heartbeat', status: 'ok', client_id: 'devA' })
  t.equal(beat.type, 'heartbeat', 'and still answers')
  t.ok(server.clientIds().includes('devA'), 'and the server lists it')
}

/** The transcripts of a whole task: S1 and the appendix rerun. */
export const ROUND_TRIP_TRANSCRIPTS = ['s1-task-roundtrip.jsonl', 'appx-appendix-harness-rerun.jsonl'] as const

/** Options of {@link replayTaskRoundTrip}. */
export interface RoundTripOptions {
  /** Answer a server TASK with the device's own TASK too. Default false. */
  answerServerTasks?: boolean
}

/** What {@link twoStepAgent} needs of an agent context. */
interface ExecuteContext {
  execute: (commands: any[], options: any) => Promise<unknown>
}

/** The capture's scripted agent: two COMMAND steps, each a screenshot and a click. Run the round trip with it. */
export async function twoStepAgent (_task: unknown, context: ExecuteContext): Promise<{ status: 'completed' }> {
  for (let step = 0; step < 2; step++) {
    await context.execute([
      { tool_name: 'get_screenshot', parameters: { step }, tool_type: 'data_collection' },
      { tool_name: 'click_input', parameters: { id: '7', button: 'left' }, tool_type: 'action' }
    ], { processName: 'notepad.exe', rootName: 'Notepad' })
  }
  return { status: 'completed' }
}

/**
 * S1 / appx: the client side of a captured conversation (registration, device info, task, COMMANDs, TASK_END,
 * heartbeats), replayed against a server running {@link twoStepAgent}, gets the reference's answers.
 */
export async function replayTaskRoundTrip (t: Test, server: ReplayServer, file: string, options: RoundTripOptions = {}): Promise<void> {
  const lines = transcript(file)
  const deviceLines = lines.filter((l) => l.conn === 'device:dev1')
  const galaxyLines = lines.filter((l) => l.conn.startsWith('constellation:'))
  const sent = (conn: WireLine[], type: string): Record<string, unknown> =>
    frameObject(conn.find((l) => l.dir === 'client->server' && (l.frame as Record<string, unknown>).type === type) as WireLine)
  const received = (conn: WireLine[], pred: (f: Record<string, any>) => boolean): Record<string, unknown> =>
    frameObject(conn.find((l) => l.dir === 'server->client' && pred(l.frame as Record<string, any>)) as WireLine)

  const device = await server.connect(t)
  sameAsReference(t, await device.ask(sent(deviceLines, 'register')), received(deviceLines, (f) => f.type === 'heartbeat'), 'device registration')
  echoDevice(device, 'dev1', { answerServerTasks: options.answerServerTasks ?? false })

  const galaxy = await server.connect(t)
  sameAsReference(t, await galaxy.ask(sent(galaxyLines, 'register')), received(galaxyLines, (f) => f.type === 'heartbeat'), 'constellation registration')

  const infoRequest = sent(galaxyLines, 'device_info_request')
  const info = await galaxy.ask(infoRequest)
  sameAsReference(t, info, received(galaxyLines, (f) => f.type === 'device_info_response'), 'device info')
  t.equal(info.response_id, infoRequest.request_id, 'DEVICE_INFO_RESPONSE answers with the request_id')

  galaxy.send(sent(galaxyLines, 'task'))
  sameAsReference(t, await galaxy.next(), received(galaxyLines, (f) => f.type === 'heartbeat' && f.session_id !== null), 'task ack')

  const commands = deviceLines.filter((l) => l.dir === 'server->client' && (l.frame as Record<string, unknown>).type === 'command').map(frameObject)
  const sentCommands: Array<Record<string, any>> = []
  for (const [index, expected] of commands.entries()) {
    const { frame } = await until(device, (f) => f.type === 'command')
    sameAsReference(t, frame, expected, `COMMAND ${index + 1}`)
    sentCommands.push(frame)
  }
  const end = await galaxy.next()
  sameAsReference(t, end, received(galaxyLines, (f) => f.type === 'task_end'), 'TASK_END to the constellation')
  const copy = (await until(device, (f) => f.type === 'task_end')).frame
  sameAsReference(t, copy, received(deviceLines, (f) => f.type === 'task_end'), 'TASK_END copy to the device')
  t.equal(copy.response_id, end.response_id, 'both TASK_END copies share one response_id')
  t.same(
    end.result.map((step: any) => step.result.map((r: any) => r.call_id)),
    sentCommands.map((command) => command.actions.map((a: any) => a.call_id)),
    'each step holds the Results of one COMMAND, echoing its call ids in order'
  )
  if (server.result !== undefined) {
    t.match(server.result(end.session_id), { status: 'completed', deviceId: 'dev1', requesterId: 'galaxy_task@dev1' }, 'the server reads the finished task back')
  }

  // Galaxy's heartbeat says client_type "device" (B1): refused exactly as the reference refuses it.
  const galaxyHeartbeat = galaxyLines.find((l) => l.dir === 'client->server' && (l.frame as Record<string, unknown>).type === 'heartbeat')
  if (galaxyHeartbeat !== undefined) {
    sameAsReference(t, await galaxy.ask(galaxyHeartbeat.frame), received(galaxyLines, (f) => f.type === 'error'), 'Galaxy heartbeat refusal (B1)')
  }
  sameAsReference(t, await device.ask(sent(deviceLines, 'heartbeat')), received(deviceLines, (f) => f.type === 'heartbeat'), 'device heartbeat answer')
}
