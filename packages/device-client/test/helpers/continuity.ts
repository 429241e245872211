import { GRANT_FIELD, RESENT_FIELD, TIMEOUT_KEY, grantField, type ContinuityCapability } from '@aip/protocol'
import { ReconnectionStrategy } from '@aip/resilience'
import type { DeviceClientEndpoint, DeviceClientOptions } from '../../src/index.js'
import { client, serverFrame, type ScriptedPeer, type ScriptedServer, type Teardown } from './net.js'

/** A strategy that reconnects within a few tens of ms. */
export const fast = (): ReconnectionStrategy => new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 10, maxBackoffMs: 50 })

/** What a scripted server grants in its registration answer. */
export interface GrantInput {
  capabilities?: ContinuityCapability[]
  epoch?: number
  resumeWindowMs?: number
  resumed?: boolean
}

/** The registration HEARTBEAT ok of our server, carrying a continuity grant (`null`: the reference answer). */
export function registrationAnswer (grant: GrantInput | null = {}): Record<string, unknown> {
  const frame = serverFrame({ type: 'heartbeat', status: 'ok' })
  if (grant === null) return frame
  return {
    ...frame,
    [GRANT_FIELD]: grantField({
      capabilities: grant.capabilities ?? ['resume', 'cancel', 'deadline'],
      epoch: grant.epoch ?? 1,
      resumeWindowMs: grant.resumeWindowMs ?? 30_000,
      resumed: grant.resumed ?? false
    })
  }
}

/** A COMMAND frame of session `sessionId`, with our extension fields when asked. */
export function commandFrame (input: {
  sessionId?: string
  responseId: string
  actions: Array<{ tool_name: string, parameters?: Record<string, unknown>, tool_type?: string, call_id?: string }>
  resent?: boolean
  timeoutMs?: number
}): Record<string, unknown> {
  const frame: Record<string, unknown> = serverFrame({
    type: 'command',
    status: 'continue',
    session_id: input.sessionId ?? 's1',
    response_id: input.responseId,
    actions: input.actions.map((action, i) => ({
      tool_name: action.tool_name,
      parameters: action.parameters ?? {},
      tool_type: action.tool_type ?? 'action',
      call_id: action.call_id ?? `c${i + 1}`
    }))
  })
  if (input.resent === true) frame[RESENT_FIELD] = true
  if (input.timeoutMs !== undefined) frame[TIMEOUT_KEY] = input.timeoutMs
  return frame
}

/** Answers the REGISTER of the next connection with `grant`; resolves with the peer and its REGISTER. */
export async function acceptRegistration (scripted: ScriptedServer, grant: GrantInput | null = {}): Promise<{ peer: ScriptedPeer, register: Record<string, any> }> {
  const peer = await scripted.connection()
  const register = await peer.next((frame) => frame.type === 'register')
  peer.send(registrationAnswer(grant))
  return { peer, register }
}

/** A device started on `scripted`, registered with `grant`; its teardown is registered. */
export async function registeredDevice (
  t: Teardown, scripted: ScriptedServer, options: Partial<DeviceClientOptions> = {}, grant: GrantInput | null = {}
): Promise<{ device: DeviceClientEndpoint, peer: ScriptedPeer, register: Record<string, any> }> {
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', reconnectionStrategy: fast(), heartbeatIntervalMs: 60_000, ...options })
  const started = device.start()
  const { peer, register } = await acceptRegistration(scripted, grant)
  await started
  return { device, peer, register }
}

/** Counts the `commandExecuted` events of a device, by COMMAND `response_id`. */
export function executions (device: DeviceClientEndpoint): Map<string | null, number> {
  const counts = new Map<string | null, number>()
  device.on('commandExecuted', ({ responseId }) => counts.set(responseId, (counts.get(responseId) ?? 0) + 1))
  return counts
}
