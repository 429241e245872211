import type { Logger } from '@aip/endpoint'
import type { ResolvedConstellationOptions } from './options.js'
import type { ConstellationEvents } from './types.js'

/** What the parts of a constellation (queues, pending requests, connections, recovery) need of their endpoint. */
export interface ConstellationHost {
  readonly options: ResolvedConstellationOptions
  readonly log: Logger
  /** Emits an event of the endpoint. */
  emit: <K extends keyof ConstellationEvents>(event: K, payload: ConstellationEvents[K]) => void
  /** True once `stop()` began. */
  readonly stopped: () => boolean
}
