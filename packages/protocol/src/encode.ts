import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { InvalidArgumentError } from './errors.js'
import { ClientMessage, ServerMessage } from './messages.js'
import { isNormalClientMessage, isNormalServerMessage, normalizeClientMessage, normalizeServerMessage } from './normalize.js'

/** Options of the encoders. */
export interface EncodeOptions {
  /**
   * Check the message against its schema first and throw `AIP_ERR_PROTOCOL_INVALID_ARGUMENT` rather than write
   * a frame the reference would reject. Default `true`; turn it off only for messages built by this package.
   */
  validate?: boolean
  /**
   * Extension fields written after the 14 declared ones (the reference ignores unknown fields). A key that names
   * a declared field is refused.
   */
  extra?: Readonly<Record<string, unknown>> | null
}

function createEncoder<M, N extends object> (label: string, schema: TSchema, normalize: (message: M) => N, isNormal: (message: M) => boolean): (message: M, options?: EncodeOptions) => string {
  const check = TypeCompiler.Compile(schema)
  const declared = new Set(Object.keys(schema.properties ?? {}))
  return function encode (message, options) {
    if (options?.validate !== false && !check.Check(message)) {
      const first = check.Errors(message).First()
      const where = first === undefined ? '' : ` at ${first.path === '' ? '/' : first.path}: ${first.message}`
      throw new InvalidArgumentError(`not a valid ${label}${where}`)
    }
    const extra = options?.extra
    // A message already in the wire form (what the builders make) is written as it is: the copy would be equal.
    const normalized = extra == null && isNormal(message) ? message : normalize(message)
    if (extra != null) {
      for (const key of Object.keys(extra)) {
        if (declared.has(key)) throw new InvalidArgumentError(`extra field "${key}" is a declared ${label} field`)
        Object.defineProperty(normalized, key, { value: extra[key], enumerable: true, writable: true, configurable: true })
      }
    }
    try {
      return JSON.stringify(normalized)
    } catch (err) {
      // Circular structures, BigInt values, or nesting beyond the call stack in free-form fields.
      throw new InvalidArgumentError(`${label} cannot be serialised: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
}

/**
 * Writes a ClientMessage in the reference wire form: all 14 fields in declaration order, `null` when unset,
 * compact JSON, raw UTF-8 (what pydantic's `model_dump_json()` writes). Throws `AIP_ERR_PROTOCOL_INVALID_ARGUMENT`
 * on an invalid message.
 */
export const encodeClientMessage = createEncoder('client message', ClientMessage, normalizeClientMessage, isNormalClientMessage)

/** Writes a ServerMessage in the reference wire form (14 fields in declaration order, `null` when unset). */
export const encodeServerMessage = createEncoder('server message', ServerMessage, normalizeServerMessage, isNormalServerMessage)
