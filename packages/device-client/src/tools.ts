import { SpanKind, parseTraceparent, startTraceSpan, type TraceSpan } from '@aip/endpoint'
import type { Command, MCPToolInfo, Result } from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import { ToolTimeoutError, UnknownToolError } from './errors.js'
import type { CommandExecutor, ExecutionContext } from './executor.js'

/** What a tool handler receives besides its parameters. */
export interface ToolContext {
  /** Aborted when the tool times out, the session ends (TASK_END) or the client stops. Honour it. */
  readonly signal: AbortSignal
  /** The Command's `call_id`, echoed in its Result. */
  readonly callId: string | null
  /** The session the COMMAND belongs to. */
  readonly sessionId: string | null
  readonly toolName: string
  /** The Command's `tool_type` (`action` or `data_collection`). */
  readonly toolType: string
  /** The device's client id. */
  readonly clientId: string
  readonly logger: Logger
  /** The W3C `traceparent` of this tool call's span when the COMMAND carried a trace context, else `null`. */
  readonly traceparent: string | null
}

/** A tool the device offers. The handler's return value becomes the Result's `result` (JSON-serialisable). */
export interface ToolDefinition {
  /** Shown by `list_tools`. */
  description?: string | undefined
  /** Shown by `list_tools` as `title`. */
  title?: string | undefined
  /** JSON Schema of the parameters, shown by `list_tools` as `input_schema`. */
  inputSchema?: Record<string, unknown> | undefined
  /** JSON Schema of the result, shown by `list_tools` as `output_schema`. */
  outputSchema?: Record<string, unknown> | undefined
  /** `action` (default) or `data_collection`: the `tool_type` that `list_tools` reports and filters on. */
  toolType?: 'action' | 'data_collection' | undefined
  /** Overrides the client's `toolTimeoutMs` for this tool. */
  timeoutMs?: number | undefined
  meta?: Record<string, unknown> | undefined
  annotations?: Record<string, unknown> | undefined
  /** Runs one call. A throw (or rejection) makes the Command fail with the error's message. */
  handler: (params: Record<string, unknown>, ctx: ToolContext) => unknown
}

/** The tools of a device, by name. */
export type ToolSet = Readonly<Record<string, ToolDefinition>>

/** Name of the meta tool every device answers, as the reference's `Computer` does. */
export const LIST_TOOLS = 'list_tools'

/** Error text of a skipped Command: the reference's. */
export const SKIPPED_TEXT = 'Skipped due to previous failure (early_exit=True).'

/** Options of {@link ToolRegistry.execute}: the {@link ExecutionContext} of a COMMAND. */
export type ExecuteOptions = ExecutionContext

/**
 * The tools of a device and the executor of COMMANDs: runs each Command in order, answers `list_tools` with
 * `MCPToolInfo`, turns every problem into a `failure` Result and skips the rest after the first failure.
 */
export class ToolRegistry implements CommandExecutor {
  readonly namespace: string
  readonly defaultTimeoutMs: number
  readonly earlyExit: boolean
  readonly #tools: ReadonlyMap<string, ToolDefinition>

  constructor (tools: ToolSet, options: { namespace: string, timeoutMs: number, earlyExit: boolean }) {
    this.namespace = options.namespace
    this.defaultTimeoutMs = options.timeoutMs
    this.earlyExit = options.earlyExit
    this.#tools = new Map(Object.entries(tools))
  }

  /** The registered tool names (without `list_tools`). */
  get names (): string[] {
    return [...this.#tools.keys()]
  }

  /**
   * The reference's `list_tools(tool_type?, namespace?, remove_meta = true)`: one `MCPToolInfo` per tool, in
   * registration order, filtered by `tool_type` and `namespace`; `remove_meta: false` lists `list_tools` too.
   */
  listTools (params: Record<string, unknown> = {}): MCPToolInfo[] {
    const toolType = typeof params.tool_type === 'string' ? params.tool_type : null
    const namespace = typeof params.namespace === 'string' ? params.namespace : null
    const removeMeta = params.remove_meta !== false
    if (namespace !== null && namespace !== this.namespace) return []
    const infos: MCPToolInfo[] = []
    for (const [name, tool] of this.#tools) {
      const type = tool.toolType ?? 'action'
      if (toolType === null || toolType === type) infos.push(this.#info(name, tool))
    }
    if (!removeMeta) {
      for (const type of ['data_collection', 'action'] as const) {
        if (toolType === null || toolType === type) {
          infos.push(this.#info(LIST_TOOLS, {
            title: 'list_tools',
            toolType: type,
            description: 'Get the available tools of a specific type (action or data_collection).',
            inputSchema: {
              type: 'object',
              properties: { tool_type: { type: 'string' }, namespace: { type: 'string' }, remove_meta: { type: 'boolean' } }
            },
            handler: () => null
          }))
        }
      }
    }
    return infos
  }

  /** Runs the Commands of one COMMAND in order and returns one Result per Command, each echoing its `call_id`. */
  async execute (commands: readonly Command[], options: ExecuteOptions): Promise<Result[]> {
    const results: Result[] = []
    let failed = false
    for (const command of commands) {
      const callId = command.call_id ?? null
      if (this.earlyExit && failed) {
        results.push({ status: 'skipped', error: SKIPPED_TEXT, result: null, namespace: null, call_id: callId })
        continue
      }
      const result = await this.#run(command, options)
      if (result.status === 'failure') failed = true
      results.push(result)
    }
    return results
  }

  async #run (command: Command, options: ExecuteOptions): Promise<Result> {
    const callId = command.call_id ?? null
    const name = command.tool_name
    const params = command.parameters ?? {}
    if (options.signal.aborted) return this.#failure(callId, `Tool '${name}' was not run: ${reasonText(options.signal.reason)}`)
    // The reference answers a Command without a tool name with a success that did nothing.
    if (name === '') return { status: 'success', error: '', result: 'No action taken.', namespace: null, call_id: callId }
    if (name === LIST_TOOLS && !this.#tools.has(LIST_TOOLS)) {
      return { status: 'success', error: null, result: this.listTools(params), namespace: this.namespace, call_id: callId }
    }
    const tool = this.#tools.get(name)
    if (tool === undefined) {
      const err = new UnknownToolError(name)
      options.logger.warn({ err, toolName: name, callId, sessionId: options.sessionId, traceId: parseTraceparent(options.traceparent)?.traceId }, 'unknown tool')
      return { status: 'failure', error: err.message, result: null, namespace: null, call_id: callId }
    }
    const timeoutMs = tool.timeoutMs ?? this.defaultTimeoutMs
    const controller = new AbortController()
    const onAbort = (): void => controller.abort(options.signal.reason)
    options.signal.addEventListener('abort', onAbort, { once: true })
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      const fail = (err: unknown): void => reject(err)
      timer = setTimeout(() => {
        const err = new ToolTimeoutError(name, timeoutMs)
        controller.abort(err)
        fail(err)
      }, timeoutMs)
      timer.unref()
      controller.signal.addEventListener('abort', () => fail(controller.signal.reason), { once: true })
    })
    // The deadline also rejects when the call ends normally (the finally below aborts): nobody listens then.
    deadline.catch(() => {})
    const span: TraceSpan | null = options.traceparent == null
      ? null
      : startTraceSpan('@aip/device-client', 'aip.tool', { parent: options.traceparent, kind: SpanKind.INTERNAL, attributes: { 'aip.tool_name': name, 'aip.call_id': callId ?? '' } })
    let failure: unknown
    try {
      const ctx: ToolContext = {
        signal: controller.signal,
        callId,
        sessionId: options.sessionId,
        toolName: name,
        toolType: command.tool_type,
        clientId: options.clientId,
        logger: options.logger,
        traceparent: span?.traceparent ?? null
      }
      const value = await Promise.race([Promise.resolve().then(() => tool.handler(params, ctx)), deadline])
      const result = value === undefined ? null : value
      JSON.stringify(result)
      return { status: 'success', error: null, result, namespace: this.namespace, call_id: callId }
    } catch (err) {
      failure = err
      options.logger.warn({ err, toolName: name, callId, sessionId: options.sessionId, traceId: span?.traceId }, 'tool failed')
      return this.#failure(callId, reasonText(err))
    } finally {
      span?.end(failure)
      clearTimeout(timer)
      options.signal.removeEventListener('abort', onAbort)
      if (!controller.signal.aborted) controller.abort(new Error('the tool call is over'))
    }
  }

  #failure (callId: string | null, error: string): Result {
    return { status: 'failure', error, result: null, namespace: this.namespace, call_id: callId }
  }

  #info (name: string, tool: ToolDefinition): MCPToolInfo {
    return {
      tool_key: `${this.namespace}.${name}`,
      tool_name: name,
      title: tool.title ?? null,
      namespace: this.namespace,
      tool_type: tool.toolType ?? 'action',
      description: tool.description ?? null,
      input_schema: tool.inputSchema ?? null,
      output_schema: tool.outputSchema ?? null,
      meta: tool.meta ?? null,
      annotations: tool.annotations ?? null
    }
  }
}

/** The text of an error or abort reason, as a failure Result carries it. */
export function reasonText (reason: unknown): string {
  if (reason instanceof Error) return reason.message === '' ? reason.name : reason.message
  if (typeof reason === 'string' && reason !== '') return reason
  return 'Unknown error'
}
