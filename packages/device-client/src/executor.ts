import type { Command, Result } from '@aip/protocol'
import type { Logger } from '@aip/resilience'

/** What an executor receives with the Commands of one COMMAND (the task context). */
export interface ExecutionContext {
  /** The session the COMMAND belongs to. */
  sessionId: string | null
  /** The device's client id. */
  clientId: string
  /** Aborted when the session ends (TASK_END) or the client stops: stop the running work, fail the rest. */
  signal: AbortSignal
  logger: Logger
  /** The COMMAND's W3C trace context, when it carried one: each tool call then runs in a span under it. */
  traceparent?: string | null
}

/** What an executor adds to the device's telemetry (`metadata.system_info` of the REGISTER). */
export interface ExecutorTelemetry {
  /** Merged into `custom_metadata` (the `customMetadata` option wins on the same key). */
  customMetadata?: Record<string, unknown> | undefined
  /** Appended to `supported_features` (no duplicates). */
  supportedFeatures?: readonly string[] | undefined
}

/**
 * Runs the Commands of the COMMANDs a device receives (the reference's `ufo_client`): the tool map of the
 * client is one implementation ({@link ToolRegistry}), `@aip/mcp-executor` another; pass yours as the
 * `executor` option of `DeviceClientEndpoint`.
 */
export interface CommandExecutor {
  /**
   * Runs the Commands and resolves with exactly one Result per Command, in order, each echoing its `call_id`.
   * It should never reject: a Command that cannot run is a `failure` Result (a rejection fails every Command of
   * the COMMAND with its text).
   */
  execute (commands: readonly Command[], context: ExecutionContext): Promise<Result[]>
  /** Telemetry read at each registration and each {@link CommandExecutor.onTelemetryChange}. */
  telemetry? (): ExecutorTelemetry
  /**
   * Subscribes to changes of {@link CommandExecutor.telemetry}; returns the unsubscribe function. While
   * registered, the client then pushes its fresh system info to the server (a DEVICE_INFO_RESPONSE).
   */
  onTelemetryChange? (listener: () => void): () => void
}
