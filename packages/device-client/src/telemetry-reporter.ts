import type { AIPProtocol } from '@aip/endpoint'
import { buildDeviceInfoPush, type DeviceSystemInfo } from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import type { CommandExecutor, ExecutorTelemetry } from './executor.js'
import { collectLiveReadings, collectSystemInfo } from './telemetry.js'

/** What a {@link TelemetryReporter} needs from its client. */
export interface TelemetryReporterOptions {
  readonly clientId: string
  readonly executor: CommandExecutor
  readonly customMetadata: Readonly<Record<string, unknown>>
  readonly supportedFeatures: readonly string[] | undefined
  /** Push fresh telemetry every this many ms while registered; 0: only at registration. */
  readonly intervalMs: number
  readonly log: Logger
  /** Fresh telemetry was written to the server. */
  readonly onSent: (systemInfo: Record<string, unknown>) => void
}

/**
 * A device's telemetry: the `DeviceSystemInfo` of its REGISTER (from `node:os` and the executor), and the pushes
 * that keep the server's copy fresh (a DEVICE_INFO_RESPONSE, the reference's push form).
 */
export class TelemetryReporter {
  readonly #options: TelemetryReporterOptions

  constructor (options: TelemetryReporterOptions) {
    this.#options = options
  }

  /** The system info, read now from `node:os` and the executor's `telemetry()`. */
  systemInfo (): DeviceSystemInfo {
    const { executor, log } = this.#options
    let extra: ExecutorTelemetry = {}
    try {
      extra = executor.telemetry?.() ?? {}
    } catch (err) {
      log.warn({ err }, 'executor telemetry failed; registering without it')
    }
    const info = collectSystemInfo({
      clientId: this.#options.clientId,
      customMetadata: { ...extra.customMetadata, ...this.#options.customMetadata },
      supportedFeatures: this.#options.supportedFeatures
    })
    for (const feature of extra.supportedFeatures ?? []) {
      if (!info.supported_features.includes(feature)) info.supported_features.push(feature)
    }
    return info
  }

  /** Sends the system info again (the executor's telemetry changed); the server keeps the latest. */
  push (protocol: AIPProtocol<'client'>): void {
    protocol.send(buildDeviceInfoPush({ clientId: this.#options.clientId, systemInfo: this.systemInfo() }))
      .catch((err: unknown) => this.#options.log.debug({ err }, 'telemetry push not sent'))
  }

  /** Pushes fresh telemetry (with the live readings) every `intervalMs` until `ended` settles. */
  refreshWhile (protocol: AIPProtocol<'client'>, ended: Promise<unknown>): void {
    if (this.#options.intervalMs <= 0) return
    const timer = setInterval(() => {
      const systemInfo = { ...this.systemInfo(), ...collectLiveReadings() }
      protocol.send(buildDeviceInfoPush({ clientId: this.#options.clientId, systemInfo }))
        .then(() => this.#options.onSent(systemInfo), (err: unknown) => this.#options.log.debug({ err }, 'telemetry push failed'))
    }, this.#options.intervalMs)
    timer.unref()
    const stop = (): void => clearInterval(timer)
    ended.then(stop, stop)
  }
}
