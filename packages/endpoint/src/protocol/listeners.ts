import type { Unsubscribe } from '@aip/resilience'

type Listener = (payload: never) => void

/**
 * The event listeners of one protocol, keyed by event: the listener itself when it is the only one, else an array
 * of the exact size. A server holds one protocol per connection for the connection's lifetime, and most events
 * of a connection have one listener or none (a Map of Sets per connection costs far more). Same rules as `TypedEmitter`: called in the order added, a listener added twice is
 * called once, one that throws does not stop the others (its error goes to `onError`), and an emit calls the
 * listeners present when it started (arrays are copied on write).
 */
export class Listeners<Events extends object, Owner> {
  #lists: Partial<Record<keyof Events, Listener | Listener[]>> = {}
  readonly #owner: Owner
  readonly #onError: (owner: Owner, err: unknown, event: keyof Events) => void

  /**
   * @param owner - handed to `onError`
   * @param onError - told when a listener throws (a function shared by every owner: no closure per connection)
   */
  constructor (owner: Owner, onError: (owner: Owner, err: unknown, event: keyof Events) => void) {
    this.#owner = owner
    this.#onError = onError
  }

  /** Adds a listener for `event`; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    const added = listener as Listener
    const present = this.#lists[event] as Listener | Listener[] | undefined
    if (present === undefined) this.#lists[event] = added
    else if (typeof present === 'function') {
      if (present !== added) this.#lists[event] = [present, added]
    } else if (!present.includes(added)) this.#lists[event] = [...present, added]
    return () => {
      const current = this.#lists[event] as Listener | Listener[] | undefined
      if (current === added) {
        delete this.#lists[event]
      } else if (Array.isArray(current) && current.includes(added)) {
        const rest = current.filter((l) => l !== added)
        this.#lists[event] = rest.length === 1 ? rest[0] : rest
      }
    }
  }

  /** Number of listeners of `event`. */
  count (event: keyof Events): number {
    const present = this.#lists[event] as Listener | Listener[] | undefined
    return present === undefined ? 0 : typeof present === 'function' ? 1 : present.length
  }

  /** Calls every listener of `event` with `payload`, in the order they were added. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const present = this.#lists[event] as ((payload: Events[K]) => void) | Array<(payload: Events[K]) => void> | undefined
    if (present === undefined) return
    if (typeof present === 'function') {
      this.#call(present, event, payload)
      return
    }
    for (let i = 0; i < present.length; i++) this.#call(present[i] as (payload: Events[K]) => void, event, payload)
  }

  #call<K extends keyof Events>(listener: (payload: Events[K]) => void, event: K, payload: Events[K]): void {
    try {
      listener(payload)
    } catch (err) {
      this.#onError(this.#owner, err, event)
    }
  }

  /** Removes every listener. */
  clear (): void {
    this.#lists = {}
  }
}
