import { extraFieldsOf } from '@aip/endpoint'
import {
  CAPABILITIES_KEY, CONTINUITY_CAPABILITIES, readGrant, type ContinuityGrant, type DecodedServerMessage
} from '@aip/protocol'
import type { RegistrationFacts } from './command-runner.js'
import { ResultCache } from './result-cache.js'

/** Payload of the `grant` event: what the server granted at a registration. */
export interface GrantEvent {
  /** The grant (`null`: the server granted nothing, as a reference server; or the `continuity` option is off). */
  readonly grant: ContinuityGrant | null
  /** The server took over sessions it held for this client id (`grant.resumed`; false without a grant). */
  readonly resumed: boolean
  /** This is the first registration of this client: the device process (re)started. */
  readonly first: boolean
}

/** Options of {@link DeviceContinuity}. */
export interface DeviceContinuityOptions {
  /** The `continuity` option: ask for the extension. */
  readonly enabled: boolean
  /** The `maxCachedResults` option. */
  readonly maxCachedResults: number
  readonly now: () => number
}

/**
 * The device's side of the continuity extension: what it asks for in its REGISTER, what the server granted at
 * each registration, how many registrations this client made, and the cache of the results it produced (kept
 * twice the granted resume window; nothing without `resume`).
 */
export class DeviceContinuity {
  readonly enabled: boolean
  readonly cache: ResultCache
  #grant: ContinuityGrant | null = null
  #registrations = 0
  /** COMMANDs that arrived right behind a registration answer, before its grant was read. */
  #held: DecodedServerMessage[] = []

  constructor (options: DeviceContinuityOptions) {
    this.enabled = options.enabled
    this.cache = new ResultCache({ maxEntries: options.maxCachedResults, now: options.now })
  }

  /** The grant of the current (or last) registration; `null` before the first or without one. */
  get grant (): ContinuityGrant | null {
    return this.#grant
  }

  /** The REGISTER `metadata` keys that ask for the extension; `undefined` (the reference REGISTER) when disabled. */
  registrationMetadata (): Record<string, unknown> | undefined {
    return this.enabled ? { [CAPABILITIES_KEY]: [...CONTINUITY_CAPABILITIES] } : undefined
  }

  /** A registration succeeded with `answer` (the server's HEARTBEAT ok): reads its grant. */
  registered (answer: DecodedServerMessage): GrantEvent {
    this.#registrations++
    const grant = this.enabled ? readGrant(extraFieldsOf(answer)) : null
    this.#grant = grant
    this.cache.setMaxAge(grant !== null && grant.capabilities.includes('resume') ? 2 * grant.resumeWindowMs : 0)
    return { grant, resumed: grant?.resumed === true, first: this.#registrations === 1 }
  }

  /** Keeps a COMMAND that arrived before its registration's grant was read (bounded by what one turn delivers). */
  hold (message: DecodedServerMessage): void {
    this.#held.push(message)
  }

  /** The held COMMANDs, in order, to run now that the grant is read. */
  takeHeld (): DecodedServerMessage[] {
    const held = this.#held
    this.#held = []
    return held
  }

  /** Forgets the held COMMANDs (their connection failed, or the client stops). */
  dropHeld (): void {
    this.#held = []
  }

  /** What the COMMAND rules need of the current registration. */
  facts (): RegistrationFacts {
    return { grant: this.#grant, first: this.#registrations === 1 }
  }
}
