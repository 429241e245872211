import { redactUrl } from './errors.js'

/** Most server URLs one client takes: a list is the nodes of one fleet, not a directory. */
export const MAX_SERVER_URLS = 64

/** One server of a {@link ServerList}: its URL, its place in the list, and the URL as it may be logged. */
export interface ServerEntry {
  readonly url: string
  readonly index: number
  /** The URL with its query values and password hidden (`redactUrl`): the only form that is logged or reported. */
  readonly redacted: string
}

/**
 * The servers a client (a device, or a device of a constellation) connects to, tried in turn: one URL (one
 * server, or a load balancer in front of many), or the nodes of one fleet. An attempt is a **round**: each URL
 * once, starting with the one after the URL the client lost or last failed on, so a node that just died is tried
 * last; the round ends at the first URL that registers. The reconnection strategy's backoff separates rounds.
 *
 * Only the order lives here; which URLs are valid is decided by each client's options.
 */
export class ServerList {
  readonly #entries: readonly ServerEntry[]
  /** Index of the server in use, or last tried; the first round starts after it. */
  #last: number
  /** The server in use, or last tried (the first before any attempt). */
  #current: ServerEntry

  /** @param urls - one or more URLs, already validated by the caller */
  constructor (urls: readonly string[]) {
    if (urls.length === 0) throw new RangeError('a server list needs at least one URL')
    this.#entries = Object.freeze(urls.map((url, index) => Object.freeze({ url, index, redacted: redactUrl(url) })))
    // The first round starts with the first URL.
    this.#last = urls.length - 1
    this.#current = this.#entries[0] as ServerEntry
  }

  /** Every server, in the order given. */
  get entries (): readonly ServerEntry[] {
    return this.#entries
  }

  /** How many servers the list holds. */
  get size (): number {
    return this.#entries.length
  }

  /** The server in use, or the one last tried (the first before any attempt). */
  get current (): ServerEntry {
    return this.#current
  }

  /** The servers of the next round, in order: each once, from the one after the server in use or last tried. */
  round (): ServerEntry[] {
    const n = this.#entries.length
    const round: ServerEntry[] = []
    for (let i = 1; i <= n; i++) round.push(this.#entries[(this.#last + i) % n] as ServerEntry)
    return round
  }

  /** Records that `entry` is being tried (and, if it registers, used): the next round starts after it. */
  use (entry: ServerEntry): void {
    this.#last = entry.index
    this.#current = entry
  }
}
