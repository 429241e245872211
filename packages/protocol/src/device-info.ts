import { Type, type Static } from '@sinclair/typebox'
import { nullable } from './nullable.js'

/**
 * Telemetry a device reports at registration, in `metadata.system_info` of its REGISTER, and that the server
 * returns as the `result` of a DEVICE_INFO_RESPONSE. Field order is the reference's. Extra keys are allowed.
 */
export const DeviceSystemInfo = Type.Object({
  device_id: Type.String({ description: 'Client id of the device' }),
  platform: Type.String({ description: 'Operating system family: windows, linux, darwin, ...' }),
  os_version: Type.String({ description: 'Operating system version string' }),
  cpu_count: nullable(Type.Integer({ minimum: 0, description: 'Logical CPUs' })),
  memory_total_gb: nullable(Type.Number({ minimum: 0, description: 'Total memory in GiB, two decimals' })),
  hostname: Type.String({ description: 'Host name' }),
  ip_address: nullable(Type.String({ description: 'Primary IP address' })),
  supported_features: Type.Array(Type.String(), { description: 'Capabilities such as gui, cli, file_system' }),
  platform_type: Type.String({ description: 'Kind of device, `computer` by default' }),
  schema_version: Type.String({ description: 'Version of this shape, `1.0`' }),
  custom_metadata: Type.Record(Type.String(), Type.Unknown(), { description: 'Operator-defined values' })
}, { description: 'System information reported by a device' })
export type DeviceSystemInfo = Static<typeof DeviceSystemInfo>

/** Wire order of DeviceSystemInfo fields. */
export const DEVICE_SYSTEM_INFO_FIELDS = [
  'device_id', 'platform', 'os_version', 'cpu_count', 'memory_total_gb', 'hostname', 'ip_address',
  'supported_features', 'platform_type', 'schema_version', 'custom_metadata'
] as const

/**
 * A tool a device offers, as the reference's `list_tools` answers it (MCP tool description).
 */
export const MCPToolInfo = Type.Object({
  tool_key: Type.String({ description: 'Unique key, `<namespace>.<tool_name>`' }),
  tool_name: Type.String(),
  title: nullable(Type.String()),
  namespace: Type.String({ description: 'Namespace (MCP server) the tool belongs to' }),
  tool_type: Type.String({ description: '`action` or `data_collection`' }),
  description: nullable(Type.String()),
  input_schema: nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the parameters' })),
  output_schema: nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the result' })),
  meta: nullable(Type.Record(Type.String(), Type.Unknown())),
  annotations: nullable(Type.Record(Type.String(), Type.Unknown()))
}, { description: 'Description of a tool a device offers' })
export type MCPToolInfo = Static<typeof MCPToolInfo>

/** Wire order of MCPToolInfo fields. */
export const MCP_TOOL_INFO_FIELDS = [
  'tool_key', 'tool_name', 'title', 'namespace', 'tool_type', 'description', 'input_schema', 'output_schema',
  'meta', 'annotations'
] as const
