import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { TransferMessage } from './binary.js'
import { isNormalClientMessage, isNormalServerMessage, normalizeClientMessage, normalizeServerMessage } from './normalize.js'
import { ClientMessage, ServerMessage, type DecodedClientMessage, type DecodedServerMessage } from './messages.js'
import {
  FrameTooDeepError, FrameTooLargeError, InvalidJsonError, InvalidMessageError,
  type ProtocolError, type ProtocolIssue
} from './errors.js'

/** Limits applied by every decoder. Both bound the work done on a hostile frame. */
export interface DecodeOptions {
  /** Largest frame accepted, in bytes of UTF-8. Default 4 MiB (`DEFAULT_MAX_FRAME_BYTES`). */
  maxBytes?: number
  /** Deepest nesting of arrays and objects accepted. Default 64 (`DEFAULT_MAX_DEPTH`). */
  maxDepth?: number
}

/** Default `maxBytes`: 4 MiB. The reference accepts 100 MiB frames; nothing legitimate comes close. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
/** Default `maxDepth`. Reference frames nest at most six levels. */
export const DEFAULT_MAX_DEPTH = 64
/** At most this many problems are listed in one error. */
export const MAX_REPORTED_ISSUES = 10

/**
 * The outcome of decoding: the message (every declared field present, `null` when unset) and the unknown
 * top-level fields it carried (`null` when none), or a coded error. Decoders never throw.
 */
export type DecodeResult<T> =
  | { readonly ok: true, readonly value: T, readonly extra: Readonly<Record<string, unknown>> | null }
  | { readonly ok: false, readonly error: ProtocolError, readonly correlation?: FrameCorrelation }

/** A frame as it arrives from a WebSocket library: text, bytes, or fragments of bytes. */
export type Frame = string | Uint8Array | ArrayBuffer | readonly Uint8Array[]

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function byteLength (frame: Exclude<Frame, string>): number {
  if (frame instanceof ArrayBuffer) return frame.byteLength
  if (frame instanceof Uint8Array) return frame.byteLength
  let total = 0
  for (const part of frame) total += part.byteLength
  return total
}

function concat (parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** Turns a frame into text within the size limit, or returns the error. */
function frameText (frame: Frame, maxBytes: number): string | ProtocolError {
  if (typeof frame === 'string') {
    // UTF-16 length <= UTF-8 length <= 3 x UTF-16 length: measure exactly only when it matters.
    if (frame.length > maxBytes) return new FrameTooLargeError(frame.length, maxBytes)
    if (frame.length * 3 > maxBytes) {
      const bytes = Buffer.byteLength(frame, 'utf8')
      if (bytes > maxBytes) return new FrameTooLargeError(bytes, maxBytes)
    }
    return frame
  }
  const total = byteLength(frame)
  if (total > maxBytes) return new FrameTooLargeError(total, maxBytes)
  const bytes = frame instanceof ArrayBuffer ? new Uint8Array(frame) : frame instanceof Uint8Array ? frame : concat(frame, total)
  try {
    return utf8.decode(bytes)
  } catch {
    return new InvalidJsonError('the bytes are not valid UTF-8')
  }
}

/** The ids of a frame that an ERROR answering it repeats: its `session_id` and `request_id`, when strings. */
export interface FrameCorrelation {
  readonly sessionId?: string
  readonly requestId?: string
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const OPEN_ARRAY = 0x5b
const CLOSE_OBJECT = 0x7d
const CLOSE_ARRAY = 0x5d
const COLON = 0x3a
const COMMA = 0x2c

/** Where the string opened at `start` (its quote) ends: the index of its closing quote, or -1. */
function stringEnd (text: string, start: number): number {
  let at = start + 1
  for (;;) {
    const quote = text.indexOf('"', at)
    if (quote === -1) return -1
    let slashes = 0
    for (let i = quote - 1; i > start && text.charCodeAt(i) === BACKSLASH; i--) slashes++
    if (slashes % 2 === 0) return quote
    at = quote + 1
  }
}

/**
 * One linear pass over the text, before it is parsed: the deepest nesting of arrays and objects (outside strings),
 * and the top-level `session_id` and `request_id` string values. A hostile frame nested millions of levels deep
 * costs one pass over its bytes, never a parse.
 */
function scanFrame (text: string): { depth: number, correlation: FrameCorrelation } {
  let depth = 0
  let deepest = 0
  let key: string | null = null
  let expectKey = false
  let sessionId: string | undefined
  let requestId: string | undefined
  const length = text.length
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (end === -1) break
      if (depth === 1) {
        if (expectKey) {
          key = end - i - 1 <= 16 ? text.slice(i + 1, end) : null
        } else if (key === 'session_id' || key === 'request_id') {
          let value: unknown
          try { value = JSON.parse(text.slice(i, end + 1)) } catch {}
          if (typeof value === 'string') {
            if (key === 'session_id') sessionId = value
            else requestId = value
          }
        }
      }
      i = end
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++
      if (depth > deepest) deepest = depth
      if (depth === 1) expectKey = c === OPEN_OBJECT
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--
    } else if (depth === 1) {
      if (c === COLON) expectKey = false
      else if (c === COMMA) { expectKey = true; key = null }
    }
  }
  const correlation: { sessionId?: string, requestId?: string } = {}
  if (sessionId !== undefined) correlation.sessionId = sessionId
  if (requestId !== undefined) correlation.requestId = requestId
  return { depth: deepest, correlation }
}

/**
 * False when `text` holds at most `maxDepth` opening brackets in all, strings included: it cannot nest deeper, and
 * the scan is skipped. Counted with the native `indexOf` (a reference frame has a handful); a text with more goes
 * through {@link scanFrame}.
 */
function mayNestDeeper (text: string, maxDepth: number): boolean {
  let count = 0
  for (let at = text.indexOf('{'); at !== -1; at = text.indexOf('{', at + 1)) if (++count > maxDepth) return true
  for (let at = text.indexOf('['); at !== -1; at = text.indexOf('[', at + 1)) if (++count > maxDepth) return true
  return false
}

/** The correlation ids of a parsed object. */
function correlationOf (value: Record<string, unknown>): FrameCorrelation {
  const correlation: { sessionId?: string, requestId?: string } = {}
  if (typeof value.session_id === 'string') correlation.sessionId = value.session_id
  if (typeof value.request_id === 'string') correlation.requestId = value.request_id
  return correlation
}

function describeSchema (schema: TSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (Array.isArray(schema.anyOf)) {
    const options = schema.anyOf as TSchema[]
    if (options.every((option) => option.const !== undefined)) {
      return `one of ${options.map((option) => JSON.stringify(option.const)).join(', ')}`
    }
    return options.map(describeSchema).join(' or ')
  }
  switch (schema.type) {
    case 'string': return 'a string'
    case 'integer': return 'an integer'
    case 'number': return 'a number'
    case 'boolean': return 'a boolean'
    case 'array': return 'an array'
    case 'object': return 'an object'
    case 'null': return 'null'
    default: return 'valid'
  }
}

function describeValue (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value)
  if (typeof value === 'object') return 'an object'
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value
}

function toIssue (error: ValueError): ProtocolIssue {
  const path = error.path === '' ? '/' : error.path
  if (error.value === undefined && error.type !== ValueErrorType.Never) {
    return { path, message: 'is required' }
  }
  if (error.type === ValueErrorType.IntegerMinimum || error.type === ValueErrorType.NumberMinimum) {
    return { path, message: `must be at least ${String(error.schema.minimum)}` }
  }
  return { path, message: `must be ${describeSchema(error.schema)}, got ${describeValue(error.value)}` }
}

/**
 * For a nullable field holding a non-null value, the errors of the non-null branch say more than "must be X or
 * null"; descend into them.
 */
function nonNullBranchErrors (error: ValueError): Iterable<ValueError> | undefined {
  if (error.type !== ValueErrorType.Union || error.value === null) return undefined
  const options = error.schema.anyOf as TSchema[] | undefined
  if (options?.length !== 2) return undefined
  const index = options.findIndex((option) => option.type !== 'null')
  if (index === -1 || options[1 - index]?.type !== 'null') return undefined
  const branch = options[index] as TSchema
  // Descend only when the value has the branch's container kind: otherwise the union text is the precise one.
  const isArray = Array.isArray(error.value)
  const kindMatches = branch.type === 'array' ? isArray : branch.type === 'object' && typeof error.value === 'object' && !isArray
  return kindMatches ? error.errors[index] : undefined
}

function addIssues (errors: Iterable<ValueError>, issues: ProtocolIssue[], seen: Set<string>): void {
  for (const error of errors) {
    if (issues.length >= MAX_REPORTED_ISSUES) return
    if (seen.has(error.path)) continue
    const inner = nonNullBranchErrors(error)
    if (inner !== undefined) {
      const before = issues.length
      addIssues(inner, issues, seen)
      if (issues.length > before) continue
    }
    seen.add(error.path)
    issues.push(toIssue(error))
  }
}

function collectIssues (check: TypeCheck<TSchema>, value: unknown): ProtocolIssue[] {
  const issues: ProtocolIssue[] = []
  addIssues(check.Errors(value), issues, new Set())
  return issues
}

function invalid (label: string, issues: ProtocolIssue[]): ProtocolError {
  const text = issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')
  const error = new InvalidMessageError(label, text) as ProtocolError & { issues: readonly ProtocolIssue[] }
  Object.defineProperty(error, 'issues', { value: Object.freeze(issues), enumerable: true })
  return error
}

function extraFields (value: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> | null {
  let extra: Record<string, unknown> | null = null
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue
    extra ??= Object.create(null) as Record<string, unknown>
    extra[key] = value[key]
  }
  return extra
}

interface Decoder<T> {
  (frame: Frame, options?: DecodeOptions): DecodeResult<T>
}

/**
 * The property names a value may declare under `schema`. For a union of objects told apart by a `type` literal,
 * the names of the member whose literal the value carries.
 */
function declaredFields (schema: TSchema): (value: Record<string, unknown>) => ReadonlySet<string> {
  if (!Array.isArray(schema.anyOf)) {
    const fields = new Set(Object.keys(schema.properties ?? {}))
    return () => fields
  }
  const byType = new Map<unknown, ReadonlySet<string>>()
  for (const member of schema.anyOf as TSchema[]) {
    byType.set(member.properties?.type?.const, new Set(Object.keys(member.properties ?? {})))
  }
  return (value) => byType.get(value.type) ?? new Set()
}

/**
 * `normalize` makes the decoded form of a checked value; `isNormal`, when given, says that a checked value already
 * is in that form (every declared field, in order, nothing else): it is then returned as it was parsed, with no
 * copy and no unknown fields to list.
 */
function createDecoder<T> (label: string, schema: TSchema, normalize: (value: never) => T, isNormal?: (value: never) => boolean): Decoder<T> {
  const check = TypeCompiler.Compile(schema)
  const knownFor = declaredFields(schema)
  return function decode (frame, options) {
    const maxBytes = options?.maxBytes ?? DEFAULT_MAX_FRAME_BYTES
    const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH
    const text = frameText(frame, maxBytes)
    if (typeof text !== 'string') return { ok: false, error: text }
    // Nesting is measured on the text, in one linear pass: a frame too deep is never parsed (a parse of a hostile
    // frame costs many times its size). A frame that cannot nest deeper than the limit (shorter than it, or with no
    // more opening brackets than it in all) skips the pass.
    if (text.length > maxDepth && mayNestDeeper(text, maxDepth)) {
      const scan = scanFrame(text)
      if (scan.depth > maxDepth) return { ok: false, error: new FrameTooDeepError(maxDepth), correlation: scan.correlation }
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      return { ok: false, error: new InvalidJsonError(reason.length > 120 ? `${reason.slice(0, 120)}...` : reason) }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { ok: false, error: invalid(label, [{ path: '/', message: `must be an object, got ${describeValue(parsed)}` }]) }
    }
    if (!check.Check(parsed)) {
      return { ok: false, error: invalid(label, collectIssues(check, parsed)), correlation: correlationOf(parsed as Record<string, unknown>) }
    }
    // What our encoders and the reference write (all declared fields, in order) is already the decoded form.
    if (isNormal?.(parsed as never) === true) return { ok: true, value: parsed as T, extra: null }
    const record = parsed as Record<string, unknown>
    return { ok: true, value: normalize(parsed as never), extra: extraFields(record, knownFor(record)) }
  }
}

/**
 * Decodes a frame a client sent to the server. Accepts what the reference accepts (omitted optional fields,
 * unknown fields, which are returned in `extra`) and rejects what it rejects (missing `type` or `status`, unknown
 * enum values, wrong types, a non-object) with `AIP_ERR_PROTOCOL_INVALID_MESSAGE` listing every problem by path.
 * Never throws.
 */
export const decodeClientMessage: Decoder<DecodedClientMessage> =
  createDecoder('client message', ClientMessage, normalizeClientMessage, isNormalClientMessage)

/** Decodes a frame the server sent to a client. Same rules as `decodeClientMessage`. Never throws. */
export const decodeServerMessage: Decoder<DecodedServerMessage> =
  createDecoder('server message', ServerMessage, normalizeServerMessage, isNormalServerMessage)

/**
 * Decodes a file-transfer control frame (`binary_data`, `file_transfer_start`, `file_transfer_complete`).
 * Unknown fields (such as our `transfer_id`) stay on the value and are also listed in `extra`. Never throws.
 */
export const decodeTransferMessage: Decoder<TransferMessage> =
  createDecoder('transfer message', TransferMessage, (value: TransferMessage) => value)
