import { readFile } from 'node:fs/promises'
import { InvalidConfigError } from './errors.js'
import type { McpServerConfig } from './options.js'

/** The JSON file MCP clients commonly use: `{ "mcpServers": { name: { command, args, env } | { url } } }`. */
export interface McpConfigFile {
  mcpServers: Record<string, Record<string, unknown>>
}

const KEYS = new Set(['command', 'args', 'env', 'cwd', 'url', 'headers', 'toolType', 'timeoutMs'])

function plainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The `servers` option of `McpExecutor` from a parsed configuration. Besides `command`, `args`, `env`, `cwd`,
 * `url` and `headers` it takes our `toolType` and `timeoutMs`; `"type"` may be `stdio`, `http` or
 * `streamable-http` (SSE servers are refused); an entry with `"disabled": true` is left out; other keys are
 * ignored. Throws `AIP_ERR_MCP_INVALID_CONFIG`; the values themselves are checked by `McpExecutor`.
 */
export function parseMcpConfig (value: unknown, source = 'object'): Record<string, McpServerConfig> {
  if (!plainObject(value) || !plainObject(value.mcpServers)) throw new InvalidConfigError(source, 'expected an object with an "mcpServers" object')
  const servers: Record<string, McpServerConfig> = {}
  for (const [name, entry] of Object.entries(value.mcpServers)) {
    if (!plainObject(entry)) throw new InvalidConfigError(source, `mcpServers.${name} is not an object`)
    if (entry.disabled === true) continue
    const type = entry.type ?? (entry.url === undefined ? 'stdio' : 'http')
    if (type !== 'stdio' && type !== 'http' && type !== 'streamable-http') {
      throw new InvalidConfigError(source, `mcpServers.${name}.type ${JSON.stringify(type)} is not supported (stdio, http, streamable-http)`)
    }
    if ((type === 'stdio' ? entry.command : entry.url) === undefined) {
      throw new InvalidConfigError(source, `mcpServers.${name} needs ${type === 'stdio' ? 'a "command"' : 'a "url"'}`)
    }
    const server: Record<string, unknown> = {}
    for (const [key, field] of Object.entries(entry)) if (KEYS.has(key)) server[key] = field
    servers[name] = server as unknown as McpServerConfig
  }
  if (Object.keys(servers).length === 0) throw new InvalidConfigError(source, 'no MCP server is configured')
  return servers
}

/** Reads and parses a configuration file (see {@link parseMcpConfig}). Throws `AIP_ERR_MCP_INVALID_CONFIG`. */
export async function loadMcpConfig (file: string): Promise<Record<string, McpServerConfig>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new InvalidConfigError(file, `cannot be read (${(err as Error).message})`, { cause: err })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new InvalidConfigError(file, `is not JSON (${(err as Error).message})`, { cause: err })
  }
  return parseMcpConfig(parsed, file)
}
