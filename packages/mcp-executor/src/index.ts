export { McpExecutor, TELEMETRY_KEY, MCP_FEATURE, type McpExecutorEvents, type McpServerState } from './executor.js'
export type { ServerStatus } from './link.js'
export type {
  McpExecutorOptions, ResolvedMcpExecutorOptions, McpServerConfig, McpStdioServer, McpHttpServer, McpServerCommon, McpToolType,
  ResolvedServer, ResolvedStdioServer, ResolvedHttpServer
} from './options.js'
export { loadMcpConfig, parseMcpConfig, type McpConfigFile } from './config.js'
export {
  InvalidOptionError, InvalidConfigError, ConnectError, UnknownToolError, AmbiguousToolError, ServerUnavailableError,
  ToolTimeoutError, ConnectionLostError, ClosedError
} from './errors.js'
