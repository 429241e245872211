import { inspect } from 'node:util'
import { Kind, OptionalKind, Type, TypeRegistry, type Static, type TObject, type TProperties, type TSchema, type TUnsafe } from '@sinclair/typebox'
import { TypeCompiler, ValueErrorType, type TypeCheck } from '@sinclair/typebox/compiler'
import { InvalidOptionError } from './errors.js'
import { silentLogger, type Logger } from './logger.js'

/** The longest delay a Node.js timer accepts (2^31 − 1 ms, about 24.8 days); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647

/** A schema that carries its default value in its type, so that {@link OptionsInput} makes it optional. */
export type WithDefault<S extends TSchema> = S & { readonly default: Static<S> }

type OptionalKeys<P extends TProperties> = {
  [K in keyof P]: P[K] extends { readonly default: unknown } ? K : P[K] extends { [OptionalKind]: 'Optional' } ? K : never
}[keyof P]

type InputOf<S extends TSchema> = S extends TObject ? OptionsInput<S> : Static<S>

/**
 * What a caller may pass for an options schema: the keys that have a default ({@link WithDefault}, the builders
 * of this module given a `default`) or are `Type.Optional` may be omitted; nested objects are inputs as well.
 */
export type OptionsInput<S extends TObject> = {
  [K in OptionalKeys<S['properties']>]?: InputOf<S['properties'][K]> | undefined
} & {
  [K in Exclude<keyof S['properties'], OptionalKeys<S['properties']>>]: InputOf<S['properties'][K]>
}

/** What {@link resolveOptions} returns for a schema: every default applied, validated, frozen. */
export type ResolvedOptions<S extends TObject> = Readonly<Static<S>>

/** Sets `value` as the default of `schema` (a copy), keeping the default in the type. */
export function Default<S extends TSchema> (schema: S, value: Static<S>): WithDefault<S> {
  return { ...schema, default: value } as WithDefault<S>
}

/** Options of {@link Milliseconds}. */
export interface MillisecondsOptions {
  /** Smallest value accepted. Default 0. */
  min?: number
  /** Largest value accepted. Default (and at most) {@link MAX_TIMER_MS}. */
  max?: number
  /** What the option means, for documentation. */
  description?: string
}

/**
 * A delay in milliseconds: an integer from `min` (default 0) to {@link MAX_TIMER_MS}, the longest delay a
 * Node.js timer honours.
 */
export function Milliseconds (options: MillisecondsOptions & { default: number }): WithDefault<ReturnType<typeof Type.Integer>>
export function Milliseconds (options?: MillisecondsOptions): ReturnType<typeof Type.Integer>
export function Milliseconds (options: MillisecondsOptions & { default?: number } = {}): ReturnType<typeof Type.Integer> {
  const min = options.min ?? 0
  const max = Math.min(options.max ?? MAX_TIMER_MS, MAX_TIMER_MS)
  return Type.Integer({
    minimum: min,
    maximum: max,
    expected: `an integer number of milliseconds from ${min} to ${max}`,
    ...(options.default === undefined ? {} : { default: options.default }),
    ...(options.description === undefined ? {} : { description: options.description })
  })
}

const LOGGER_KIND = 'AipLogger'
const FUNCTION_KIND = 'AipFunction'
const CHECKED_KIND = 'AipChecked'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

/** True for a pino-compatible logger: an object with `debug`, `info`, `warn` and `error` methods. */
export function isLogger (value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return LOG_LEVELS.every((level) => typeof candidate[level] === 'function')
}

type Predicate = (value: unknown) => boolean

if (!TypeRegistry.Has(LOGGER_KIND)) TypeRegistry.Set(LOGGER_KIND, (_schema, value) => isLogger(value))
if (!TypeRegistry.Has(FUNCTION_KIND)) TypeRegistry.Set(FUNCTION_KIND, (_schema, value) => typeof value === 'function')
if (!TypeRegistry.Has(CHECKED_KIND)) {
  TypeRegistry.Set<{ check: Predicate }>(CHECKED_KIND, (schema, value) => schema.check(value))
}

/** A pino-compatible logger (`debug`, `info`, `warn`, `error`); defaults to a silent logger. */
export function LoggerOption (): WithDefault<TUnsafe<Logger>> {
  return Type.Unsafe<Logger>({
    [Kind]: LOGGER_KIND,
    expected: 'an object with debug, info, warn and error methods',
    default: silentLogger
  }) as WithDefault<TUnsafe<Logger>>
}

/** A function of type `F` (only `typeof value === 'function'` is checked). */
export function FunctionOption<F extends (...args: never[]) => unknown> (options: { default: F }): WithDefault<TUnsafe<F>>
export function FunctionOption<F extends (...args: never[]) => unknown> (): TUnsafe<F>
export function FunctionOption<F extends (...args: never[]) => unknown> (options: { default?: F } = {}): TUnsafe<F> {
  return Type.Unsafe<F>({
    [Kind]: FUNCTION_KIND,
    expected: 'a function',
    ...(options.default === undefined ? {} : { default: options.default })
  })
}

/**
 * A value checked by `check` (for what JSON Schema cannot describe: a Redis client, a strategy object, ...).
 * `expected` says in words what `check` accepts; it is the `expected` of the error.
 */
export function CheckedOption<T> (expected: string, check: (value: unknown) => boolean): TUnsafe<T> {
  return Type.Unsafe<T>({ [Kind]: CHECKED_KIND, expected, check })
}

/** An instance of `Class` (`value instanceof Class`), such as an `AbortSignal`. */
export function InstanceOption<C extends abstract new (...args: never[]) => unknown> (Class: C): TUnsafe<InstanceType<C>> {
  return CheckedOption<InstanceType<C>>(`an instance of ${Class.name}`, (value) => value instanceof Class)
}

const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>()

function checkerOf<S extends TSchema> (schema: S): TypeCheck<S> {
  let checker = checkers.get(schema)
  if (checker === undefined) {
    checker = TypeCompiler.Compile(schema)
    checkers.set(schema, checker)
  }
  return checker as TypeCheck<S>
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function copyDefault (value: unknown, created: Set<object>): unknown {
  let copy: unknown = value
  if (Array.isArray(value)) copy = [...value]
  else if (isPlainObject(value) && !Object.isFrozen(value)) copy = { ...value }
  if (copy !== value) created.add(copy as object)
  return copy
}

/**
 * A copy of `value` with the defaults of `schema` filled in. Plain objects under an object schema are copied,
 * never mutated; every object created here is recorded in `created` (and frozen by the caller).
 */
function withDefaults (schema: TSchema, value: unknown, created: Set<object>): unknown {
  const current = value === undefined && 'default' in schema ? copyDefault(schema.default, created) : value
  if (schema[Kind] !== 'Object' || !isPlainObject(current)) return current
  const properties = (schema as TObject).properties
  const out: Record<string, unknown> = { ...current }
  created.add(out)
  for (const key of Object.keys(properties)) {
    const next = withDefaults(properties[key] as TSchema, out[key], created)
    if (next === undefined) delete out[key]
    else out[key] = next
  }
  return out
}

/** A short description of a value for an error message: never its whole content. */
export function describeValue (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object' && value !== null) {
    const name = Object.getPrototypeOf(value)?.constructor?.name as string | undefined
    return name === undefined || name === 'Object' ? 'an object' : `an instance of ${name}`
  }
  const text = inspect(value, { depth: 0, breakLength: Infinity })
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function expectedOf (schema: TSchema): string {
  if (typeof schema.expected === 'string') return schema.expected
  const kind = schema[Kind] as string
  const range = (what: string): string => {
    const min = schema.minimum ?? schema.exclusiveMinimum
    const max = schema.maximum ?? schema.exclusiveMaximum
    if (min !== undefined && max !== undefined) return `${what} from ${String(min)} to ${String(max)}`
    if (min !== undefined) return `${what} ${schema.exclusiveMinimum !== undefined ? '>' : '>='} ${String(min)}`
    if (max !== undefined) return `${what} ${schema.exclusiveMaximum !== undefined ? '<' : '<='} ${String(max)}`
    return what
  }
  switch (kind) {
    case 'Integer': return range('an integer')
    case 'Number': return range('a number')
    case 'String': return schema.minLength === 1 ? 'a non-empty string' : 'a string'
    case 'Boolean': return 'a boolean'
    case 'Object': return 'an object'
    case 'Array': return 'an array'
    case 'Literal': return typeof schema.const === 'string' ? JSON.stringify(schema.const) : String(schema.const)
    case 'Union': return (schema.anyOf as TSchema[]).map(expectedOf).join(' or ')
    default: return kind.toLowerCase()
  }
}

function dotted (scope: string | undefined, pointer: string): string {
  const path = pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~')).join('.')
  if (scope === undefined || scope === '') return path === '' ? 'options' : path
  return path === '' ? scope : `${scope}.${path}`
}

/**
 * Resolves the options of a constructor (or a call) against a TypeBox object schema, once: fills in the
 * schema's defaults (nested objects included; the input is never mutated), validates the result with a checker
 * compiled once per schema, and freezes the objects it created.
 *
 * Unknown keys are ignored (options objects are often shared between layers), unless the schema says
 * `additionalProperties: false`, in which case the first unknown key is refused.
 *
 * @param schema - the options schema (build it once, at module scope: its checker is cached)
 * @param input - what the caller passed; `undefined` means "all defaults"
 * @param scope - a dotted prefix for the paths in errors (`'reconnection'` gives `reconnection.maxRetries`)
 * @returns the resolved options, frozen
 * @throws `AIP_ERR_INVALID_OPTION` ({@link InvalidOptionError}) naming the first failing path
 */
export function resolveOptions<S extends TObject> (schema: S, input: unknown, scope?: string): ResolvedOptions<S> {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new InvalidOptionError(scope === undefined || scope === '' ? 'options' : scope, 'an object', describeValue(input))
  }
  const created = new Set<object>()
  const value = withDefaults(schema, input ?? {}, created)
  const checker = checkerOf(schema)
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First()
    if (first === undefined) throw new InvalidOptionError(dotted(scope, ''), 'valid options', describeValue(value))
    const unexpected = first.type === ValueErrorType.ObjectAdditionalProperties
    throw new InvalidOptionError(
      dotted(scope, first.path),
      unexpected ? 'no such option' : expectedOf(first.schema),
      describeValue(first.value)
    )
  }
  for (const object of created) Object.freeze(object)
  return value as ResolvedOptions<S>
}
