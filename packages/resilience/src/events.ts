/**
 * Stops a listener added with `on()`. Calling it twice is harmless.
 */
export type Unsubscribe = () => void

/**
 * A tiny typed event emitter. `Events` maps each event name to its payload type.
 * A listener that throws does not stop the others: the error goes to `onListenerError`.
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>()
  readonly #onListenerError: (err: unknown, event: keyof Events) => void

  /**
   * @param onListenerError - called when a listener throws (the emitter never rethrows)
   */
  constructor (onListenerError: (err: unknown, event: keyof Events) => void) {
    this.#onListenerError = onListenerError
  }

  /**
   * Adds a listener for `event` and returns a function that removes it.
   */
  on<K extends keyof Events> (event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    let set = this.#listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener)
    return () => {
      const current = this.#listeners.get(event)
      if (current === undefined) return
      current.delete(listener)
      if (current.size === 0) this.#listeners.delete(event)
    }
  }

  /**
   * Calls every listener of `event` with `payload`, in the order they were added.
   */
  emit<K extends keyof Events> (event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set] as Array<(payload: Events[K]) => void>) {
      try {
        listener(payload)
      } catch (err) {
        this.#onListenerError(err, event)
      }
    }
  }

  /**
   * Number of listeners currently registered for `event`.
   */
  listenerCount (event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  /**
   * Removes every listener.
   */
  clear (): void {
    this.#listeners.clear()
  }
}
