import { randomUUID } from 'node:crypto'

// Reference-complete frames written by hand, for the baseline server and the load generator: every declared
// field present in wire order, `null` when unset. No validation: this is the bare minimum a server must send.

function now (): string {
  return new Date().toISOString().replace('Z', '000+00:00')
}

export interface ServerFields {
  type: string
  status: string
  agent_name?: string | null
  actions?: unknown[] | null
  error?: string | null
  session_id?: string | null
  task_name?: string | null
  response_id?: string
  result?: unknown
}

/** A ServerMessage in the reference form. */
export function serverFrame (f: ServerFields): string {
  return JSON.stringify({
    type: f.type,
    status: f.status,
    user_request: null,
    agent_name: f.agent_name ?? null,
    process_name: null,
    root_name: null,
    actions: f.actions ?? null,
    messages: null,
    error: f.error ?? null,
    session_id: f.session_id ?? null,
    task_name: f.task_name ?? null,
    timestamp: now(),
    response_id: f.response_id ?? randomUUID(),
    result: f.result ?? null
  })
}

export interface ClientFields {
  type: string
  status: string
  client_type: 'device' | 'constellation'
  client_id: string
  session_id?: string | null
  task_name?: string | null
  target_id?: string | null
  request?: string | null
  action_results?: unknown[] | null
  prev_response_id?: string | null
  metadata?: Record<string, unknown> | null
}

/** A ClientMessage in the reference form. */
export function clientFrame (f: ClientFields): string {
  return JSON.stringify({
    type: f.type,
    status: f.status,
    client_type: f.client_type,
    session_id: f.session_id ?? null,
    task_name: f.task_name ?? null,
    client_id: f.client_id,
    target_id: f.target_id ?? null,
    request: f.request ?? null,
    action_results: f.action_results ?? null,
    timestamp: now(),
    request_id: null,
    prev_response_id: f.prev_response_id ?? null,
    error: null,
    metadata: f.metadata ?? null
  })
}

/** The one command of a benchmark task. */
export const BENCH_COMMAND = { tool_name: 'echo', parameters: { n: 1 }, tool_type: 'action' } as const
