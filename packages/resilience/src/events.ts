/**
 * Stops a listener added with `on()`. Calling it twice is harmless.
 */
export type Unsubscribe = () => void

/**
 * A tiny typed event emitter. `Events` maps each event name to its payload type.
 * A listener that throws does not stop the others: the error goes to `onListenerError`.
 */
export class TypedEmitter<Events extends object> {
  /**
   * The listeners of each event, in the order added, as an array never changed in place: `on()` and an unsubscribe
   * replace it. An emit walks the array it found (the listeners present when it started) without copying it.
   */
  readonly #listeners = new Map<keyof Events, ReadonlyArray<(payload: never) => void>>()
  readonly #onListenerError: (err: unknown, event: keyof Events) => void

  /**
   * @param onListenerError - called when a listener throws (the emitter never rethrows)
   */
  constructor (onListenerError: (err: unknown, event: keyof Events) => void) {
    this.#onListenerError = onListenerError
  }

  /**
   * Adds a listener for `event` and returns a function that removes it. A listener already added is not added
   * again (it is called once per emit).
   */
  on<K extends keyof Events> (event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    const added = listener as (payload: never) => void
    const list = this.#listeners.get(event)
    if (list === undefined) this.#listeners.set(event, [added])
    else if (!list.includes(added)) this.#listeners.set(event, [...list, added])
    return () => {
      const current = this.#listeners.get(event)
      if (current === undefined || !current.includes(added)) return
      if (current.length === 1) this.#listeners.delete(event)
      else this.#listeners.set(event, current.filter((l) => l !== added))
    }
  }

  /**
   * Calls every listener of `event` with `payload`, in the order they were added: the listeners present when the
   * emit starts (one added by a listener is called from the next emit on, one removed by a listener is still called
   * this time).
   */
  emit<K extends keyof Events> (event: K, payload: Events[K]): void {
    const list = this.#listeners.get(event) as ReadonlyArray<(payload: Events[K]) => void> | undefined
    if (list === undefined) return
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as (payload: Events[K]) => void)(payload)
      } catch (err) {
        this.#onListenerError(err, event)
      }
    }
  }

  /**
   * Number of listeners currently registered for `event`.
   */
  listenerCount (event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0
  }

  /**
   * Removes every listener.
   */
  clear (): void {
    this.#listeners.clear()
  }
}
