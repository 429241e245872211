/**
 * A device's information in one normalised shape, whatever the server answered: the reference record
 * (`DeviceSystemInfo` of `@aip/protocol`: `platform`, `os_version`, `cpu_count`, `memory_total_gb`, ...) and the
 * live readings our devices add (`memory_percent`, `load_average`, ...). A value the record does not carry, or
 * carries with the wrong type, is `null`.
 */
export interface DeviceInfoView {
  readonly deviceId: string | null
  readonly hostname: string | null
  readonly ipAddress: string | null
  /** Operating system family (`windows`, `linux`, `darwin`...) and its version string. */
  readonly os: { readonly platform: string | null, readonly version: string | null }
  /** Logical CPUs and the 1-minute load average, when reported. */
  readonly cpu: { readonly count: number | null, readonly loadAverage: number | null }
  /** The GPU the device reports (in `gpu`, or `custom_metadata.gpu`), as it reports it. */
  readonly gpu: unknown
  /** Total and free memory in GiB, and the part in use in percent, when reported. */
  readonly memory: { readonly totalGb: number | null, readonly freeGb: number | null, readonly usedPercent: number | null }
  /** Seconds since the device's system started, when reported. */
  readonly uptimeS: number | null
  /** What the device can do (`gui`, `cli`, `file_system`...). */
  readonly features: readonly string[]
  /** The kind of device (`computer` by default). */
  readonly platformType: string | null
  readonly schemaVersion: string | null
  /** Operator-defined values. */
  readonly custom: Readonly<Record<string, unknown>>
}

/** What `requestDeviceInfo(deviceId, { view: true })` resolves with. */
export interface DeviceInfoAnswer {
  /** The server's answer as it sent it (the reference record), or `null` when it was not an object. */
  readonly record: Readonly<Record<string, unknown>> | null
  /** The same answer in the normalised shape, or `null` when there is no record. */
  readonly view: DeviceInfoView | null
}

function text (value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function number (value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

function object (value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null
}

/** The normalised view of a device-info record (see {@link DeviceInfoView}). */
export function normalizeDeviceInfo (record: Readonly<Record<string, unknown>>): DeviceInfoView {
  const custom = object(record.custom_metadata) ?? {}
  const features = Array.isArray(record.supported_features) ? record.supported_features.filter((f): f is string => typeof f === 'string') : []
  return Object.freeze({
    deviceId: text(record.device_id),
    hostname: text(record.hostname),
    ipAddress: text(record.ip_address),
    os: Object.freeze({ platform: text(record.platform), version: text(record.os_version) }),
    cpu: Object.freeze({ count: number(record.cpu_count), loadAverage: number(record.load_average) }),
    gpu: record.gpu ?? custom.gpu ?? null,
    memory: Object.freeze({
      totalGb: number(record.memory_total_gb),
      freeGb: number(record.memory_free_gb),
      usedPercent: number(record.memory_percent)
    }),
    uptimeS: number(record.uptime_s),
    features: Object.freeze(features),
    platformType: text(record.platform_type),
    schemaVersion: text(record.schema_version),
    custom: Object.freeze({ ...custom })
  })
}
