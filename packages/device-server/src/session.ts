import type { TraceSpan } from '@aip/endpoint'
import type { DecodedServerMessage, Result } from '@aip/protocol'

/** A command waiting for its COMMAND_RESULTS: told its results or why it failed, once. */
export interface PendingCommand {
  resolve: (results: Result[]) => void
  reject: (err: Error) => void
  /** The COMMAND itself, kept to be sent (again) when its device resumes; `null` until the runner gives it. */
  outgoing: OutstandingCommand | null
}

/** A COMMAND waiting for its results, as the runner keeps it to send it, or send it again after a resume. */
export interface OutstandingCommand {
  readonly command: DecodedServerMessage
  /** Extension fields it carries whenever it is written (its `traceparent`), or `null`. */
  readonly extra: Readonly<Record<string, unknown>> | null
  /** When its results are due (the endpoint's clock): a device granted `deadline` is told the time left. */
  readonly dueAt: number
  /** Written to a device connection at least once: a later write carries `aip_resent`. */
  sent: boolean
}

/** One step of a task: the request and the Results of one COMMAND, as the reference reports it in TASK_END. */
export interface TaskStep {
  request: string
  result: Result[]
}

/** A running task. Lives from the TASK's ack to its TASK_END; then its record goes to the result store. */
export class Session {
  readonly id: string
  readonly taskName: string
  readonly request: string
  readonly requesterId: string
  readonly deviceId: string
  readonly startedAt: number
  /** Bytes of the TASK frame that started it, charged to its requester while it runs. */
  readonly sizeBytes: number
  #steps: TaskStep[] = []
  /** Made on first use of `signal`: most agents never read it, and an AbortSignal is an EventTarget. */
  #controller: AbortController | null = null
  #aborted = false
  #reason: unknown = undefined
  /**
   * The commands waiting for results, in the order they were issued. A task usually waits for one at a time: the
   * first is kept in a slot of its own (no Map per task); the Map is made when a second one waits beside it. When
   * `#first` is taken, `#more` is empty, so the slot always comes first in the order.
   */
  #firstId: string | null = null
  #first: PendingCommand | null = null
  #more: Map<string, PendingCommand> | null = null
  ended = false
  /** The task's span, from the start of its agent to its TASK_END. */
  trace: TraceSpan | null = null
  /** The TASK carried a trace context: its COMMANDs carry theirs (an extension field). */
  propagateTrace = false
  /** When the TASK's deadline (its `metadata.aip_timeout_ms`) passes, on the endpoint's clock; `null` for none. */
  deadlineAt: number | null = null
  /** The deadline's timer, cleared at the end. */
  deadlineTimer: NodeJS.Timeout | null = null

  constructor (init: { id: string, taskName: string, request: string, requesterId: string, deviceId: string, startedAt: number, sizeBytes?: number }) {
    this.id = init.id
    this.taskName = init.taskName
    this.request = init.request
    this.requesterId = init.requesterId
    this.deviceId = init.deviceId
    this.startedAt = init.startedAt
    this.sizeBytes = init.sizeBytes ?? 0
  }

  /**
   * Records a step. The first makes an array of exactly one: a finished task's steps are its record's `result`,
   * kept in the result store long after the task, and an array grown by `push` from empty holds room for 17.
   */
  addStep (step: TaskStep): void {
    if (this.#steps.length === 0) this.#steps = [step]
    else this.#steps.push(step)
  }

  /** The steps recorded so far (see {@link addStep}). */
  get steps (): TaskStep[] {
    return this.#steps
  }

  /** Aborted when the task is cancelled; `reason` says why. */
  get signal (): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  /** `signal.aborted`, without making the signal. */
  get aborted (): boolean {
    return this.#aborted
  }

  /** `signal.reason`, without making the signal. */
  get abortReason (): unknown {
    return this.#reason
  }

  /** Registers the wait for the results of the COMMAND with `responseId` (before the COMMAND is sent). */
  expect (responseId: string): Promise<Result[]> {
    return new Promise<Result[]>((resolve, reject) => {
      this.#add(responseId, { resolve, reject, outgoing: null })
    })
  }

  /**
   * Registers `pending` as the wait for the results of the COMMAND with `responseId` (before the COMMAND is sent):
   * {@link deliver}, {@link fail} and {@link cancel} call its `resolve` or `reject` once.
   */
  wait (responseId: string, pending: PendingCommand): void {
    this.#add(responseId, pending)
  }

  /** Keeps the COMMAND of a waiting `responseId`, to send it (again) when the device resumes. */
  keep (responseId: string, outgoing: OutstandingCommand): void {
    const pending = this.#get(responseId)
    if (pending !== undefined) pending.outgoing = outgoing
  }

  /** The COMMANDs still waiting for results, in the order they were issued. */
  * outstanding (): IterableIterator<OutstandingCommand> {
    if (this.#first?.outgoing != null) yield this.#first.outgoing
    if (this.#more === null) return
    for (const pending of this.#more.values()) if (pending.outgoing !== null) yield pending.outgoing
  }

  /** Fails the wait for `responseId` with `err` (its timeout); false when nothing waits for it any more. */
  fail (responseId: string, err: Error): boolean {
    const pending = this.#take(responseId)
    if (pending === undefined) return false
    pending.reject(err)
    return true
  }

  /** Stops waiting for `responseId` (timeout, abort, send failure). */
  forget (responseId: string): void {
    this.#take(responseId)
  }

  /** Delivers results; false when nothing waits for that `prev_response_id` (the reference drops those). */
  deliver (prevResponseId: string, results: Result[]): boolean {
    const pending = this.#take(prevResponseId)
    if (pending === undefined) return false
    pending.resolve(results)
    return true
  }

  /** Aborts the task: every waiting command rejects with `reason`. */
  cancel (reason: Error): void {
    if (!this.#aborted) {
      this.#aborted = true
      this.#reason = reason
      this.#controller?.abort(reason)
    }
    const first = this.#first
    if (first !== null) {
      this.#firstId = null
      this.#first = null
      first.reject(reason)
    }
    const more = this.#more
    if (more === null) return
    for (const [responseId, pending] of more) {
      more.delete(responseId)
      pending.reject(reason)
    }
  }

  #add (responseId: string, pending: PendingCommand): void {
    if (this.#firstId === responseId || (this.#first === null && (this.#more === null || this.#more.size === 0))) {
      this.#firstId = responseId
      this.#first = pending
    } else {
      (this.#more ??= new Map()).set(responseId, pending)
    }
  }

  #get (responseId: string): PendingCommand | undefined {
    return this.#firstId === responseId ? (this.#first as PendingCommand) : this.#more?.get(responseId)
  }

  /** Removes and returns the wait for `responseId`. */
  #take (responseId: string): PendingCommand | undefined {
    if (this.#firstId === responseId) {
      const pending = this.#first as PendingCommand
      this.#firstId = null
      this.#first = null
      return pending
    }
    const more = this.#more
    if (more === null) return undefined
    const pending = more.get(responseId)
    if (pending !== undefined) more.delete(responseId)
    return pending
  }
}
