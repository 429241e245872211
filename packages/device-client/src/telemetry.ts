import os from 'node:os'
import type { DeviceSystemInfo } from '@aip/protocol'

/** Inputs of {@link collectSystemInfo}; every machine fact can be overridden (tests, containers). */
export interface SystemInfoInput {
  /** The client id, reported as `device_id`. */
  clientId: string
  /** Operator-defined values, reported as `custom_metadata`. Default `{}`. */
  customMetadata?: Record<string, unknown> | undefined
  /** Replaces the detected `supported_features`. */
  supportedFeatures?: readonly string[] | undefined
  /** Where the facts come from. Default: `node:os`. */
  source?: Partial<OsSource> | undefined
}

/** The `node:os` functions {@link collectSystemInfo} reads. */
export interface OsSource {
  platform: () => NodeJS.Platform | string
  version: () => string
  cpuCount: () => number
  totalmem: () => number
  hostname: () => string
  networkInterfaces: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>
}

const defaultSource: OsSource = {
  platform: () => os.platform(),
  version: () => os.version(),
  cpuCount: () => typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
  totalmem: () => os.totalmem(),
  hostname: () => os.hostname(),
  networkInterfaces: () => os.networkInterfaces()
}

/**
 * The platform name the reference reports (Python's `platform.system().lower()`): `windows`, `linux`, `darwin`;
 * other Node.js platforms keep their Node.js name.
 */
export function referencePlatform (nodePlatform: string): string {
  return nodePlatform === 'win32' ? 'windows' : nodePlatform
}

/** The reference's feature detection, by platform. */
export function detectFeatures (platform: string): string[] {
  if (platform === 'windows' || platform === 'linux' || platform === 'darwin') {
    const specific = platform === 'windows' ? 'windows_apps' : platform === 'linux' ? 'linux_apps' : 'macos_apps'
    return ['gui', 'cli', 'browser', 'file_system', 'office', specific]
  }
  if (platform === 'android' || platform === 'ios') return ['mobile_touch', 'mobile_apps', 'camera', 'gps']
  return []
}

/** The reference's platform categories: `computer` for desktops, `mobile`, or `unknown`. */
export function platformType (platform: string): string {
  if (platform === 'windows' || platform === 'linux' || platform === 'darwin') return 'computer'
  if (platform === 'android' || platform === 'ios') return 'mobile'
  return 'unknown'
}

/** The first non-internal IPv4 address, or `null` (the reference asks the routing table; we read interfaces). */
export function primaryIpv4 (interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): string | null {
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      if (!info.internal && (info.family === 'IPv4' || (info.family as unknown) === 4)) return info.address
    }
  }
  return null
}

function attempt<T> (read: () => T, fallback: T): T {
  try {
    return read()
  } catch {
    return fallback
  }
}

/**
 * The device's `DeviceSystemInfo`, in the reference's field order and types (as the Python
 * `DeviceInfoProvider.collect_system_info` fills it), read from `node:os`. A fact that cannot be read gets the
 * reference's fallback (`unknown`, `0`).
 */
export function collectSystemInfo (input: SystemInfoInput): DeviceSystemInfo {
  const source: OsSource = { ...defaultSource, ...input.source }
  const platform = attempt(() => referencePlatform(source.platform()), 'unknown')
  return {
    device_id: input.clientId,
    platform,
    os_version: attempt(() => source.version(), 'unknown'),
    cpu_count: attempt(() => source.cpuCount(), 0),
    memory_total_gb: attempt(() => Math.round(source.totalmem() / 1024 ** 3 * 100) / 100, 0),
    hostname: attempt(() => source.hostname(), 'unknown'),
    ip_address: attempt(() => primaryIpv4(source.networkInterfaces()), null),
    supported_features: [...(input.supportedFeatures ?? detectFeatures(platform))],
    platform_type: platformType(platform),
    schema_version: '1.0',
    custom_metadata: { ...input.customMetadata }
  }
}

/** Readings that change while a device runs, added to its periodic telemetry push. */
export interface LiveReadings {
  /** The 1-minute load average (0 where the OS has none, as on Windows). */
  load_average: number
  /** Free memory in GiB, two decimals. */
  memory_free_gb: number
  /** Memory in use, in percent, one decimal. */
  memory_percent: number
  /** Seconds since the system started. */
  uptime_s: number
}

/** Reads the {@link LiveReadings} from `node:os`; a reading that fails is 0. */
export function collectLiveReadings (source: Partial<{ loadavg: () => number[], freemem: () => number, totalmem: () => number, uptime: () => number }> = {}): LiveReadings {
  const read = { loadavg: () => os.loadavg(), freemem: () => os.freemem(), totalmem: () => os.totalmem(), uptime: () => os.uptime(), ...source }
  const total = attempt(() => read.totalmem(), 0)
  const free = attempt(() => read.freemem(), 0)
  return {
    load_average: attempt(() => Math.round((read.loadavg()[0] ?? 0) * 100) / 100, 0),
    memory_free_gb: Math.round(free / 1024 ** 3 * 100) / 100,
    memory_percent: total > 0 ? Math.round((1 - free / total) * 1000) / 10 : 0,
    uptime_s: attempt(() => Math.round(read.uptime()), 0)
  }
}
