import { createError } from '@fastify/error'

/**
 * An option of `McpExecutor` is missing, of the wrong type or out of range: the shared `AIP_ERR_INVALID_OPTION`
 * of `@aip/resilience` (fields `option`, `expected`, `received`), re-exported under its name.
 */
export { InvalidOptionError } from '@aip/resilience'

/** An MCP configuration file (`{ "mcpServers": { ... } }`) cannot be read or has a wrong shape. */
export const InvalidConfigError = createError(
  'AIP_ERR_MCP_INVALID_CONFIG', 'Invalid MCP configuration %s: %s', 500, TypeError
)

/** An MCP server could not be started or did not answer the MCP initialization; it is retried with backoff. */
export const ConnectError = createError(
  'AIP_ERR_MCP_CONNECT', "Cannot connect to MCP server '%s': %s", 502
)

/** A Command named a tool that no MCP server offers; the Command failed. */
export const UnknownToolError = createError(
  'AIP_ERR_MCP_UNKNOWN_TOOL', "Tool '%s' is not offered by any MCP server", 404
)

/** A Command named a tool that several MCP servers offer; the Command failed. */
export const AmbiguousToolError = createError(
  'AIP_ERR_MCP_AMBIGUOUS_TOOL', "Tool '%s' is offered by several MCP servers (%s): name it as <server>.<tool>", 409
)

/** The MCP server of a Command's tool is not connected right now (it is being reconnected); the Command failed. */
export const ServerUnavailableError = createError(
  'AIP_ERR_MCP_SERVER_UNAVAILABLE', "MCP server '%s' is not connected (%s)", 503
)

/** A tool call did not finish within its timeout; the MCP request was cancelled and the Command failed. */
export const ToolTimeoutError = createError(
  'AIP_ERR_MCP_TOOL_TIMEOUT', "Tool '%s' timed out after %d ms", 504
)

/** The MCP server's connection ended during a tool call (the process died, the HTTP server went away). */
export const ConnectionLostError = createError(
  'AIP_ERR_MCP_CONNECTION_LOST', "MCP server '%s' was lost during the call of '%s': %s", 502
)

/** The executor is closed: `start()` is refused and Commands fail. */
export const ClosedError = createError(
  'AIP_ERR_MCP_CLOSED', 'The MCP executor is closed', 503
)
