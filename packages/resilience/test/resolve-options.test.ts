import t from 'tap'
import { Type } from '@sinclair/typebox'
import {
  CheckedOption, Default, FunctionOption, InstanceOption, InvalidOptionError, LoggerOption, MAX_TIMER_MS, Milliseconds,
  describeValue, resolveOptions, silentLogger, type OptionsInput
} from '../src/index.js'

const Schema = Type.Object({
  timeoutMs: Milliseconds({ min: 1, default: 1000 }),
  graceMs: Type.Optional(Milliseconds()),
  logger: LoggerOption(),
  retries: Default(Type.Union([Type.Integer({ minimum: 0 }), Type.Literal(Infinity)]), 5),
  name: Type.String({ minLength: 1 }),
  onEvent: Type.Optional(FunctionOption<(event: string) => void>()),
  signal: Type.Optional(InstanceOption(AbortSignal)),
  nested: Type.Object({
    enabled: Default(Type.Boolean(), true),
    ratio: Default(Type.Number({ minimum: 0, maximum: 1 }), 0.5)
  }, { default: {} })
})

t.test('defaults are applied, nested ones too, and the result is frozen without touching the input', async (t) => {
  const input: OptionsInput<typeof Schema> = { name: 'a', nested: { ratio: 0.25 } }
  const resolved = resolveOptions(Schema, input)
  t.same(resolved, { timeoutMs: 1000, logger: silentLogger, retries: 5, name: 'a', nested: { enabled: true, ratio: 0.25 } })
  t.ok(Object.isFrozen(resolved))
  t.ok(Object.isFrozen(resolved.nested))
  t.same(input, { name: 'a', nested: { ratio: 0.25 } }, 'the input is not mutated')
  t.notOk(Object.isFrozen(input.nested))
  const signal = new AbortController().signal
  const onEvent = (): void => {}
  const full = resolveOptions(Schema, { name: 'b', retries: Infinity, signal, onEvent, graceMs: 0 })
  t.equal(full.signal, signal)
  t.equal(full.onEvent, onEvent)
  t.equal(full.retries, Infinity)
  t.same(full.nested, { enabled: true, ratio: 0.5 })
})

t.test('the first failing option is named by its dotted path, with what was expected and received', async (t) => {
  const cases: Array<[unknown, string, string]> = [
    [{ name: 'a', timeoutMs: 0 }, 'timeoutMs', `an integer number of milliseconds from 1 to ${MAX_TIMER_MS}`],
    [{ name: 'a', timeoutMs: MAX_TIMER_MS + 1 }, 'timeoutMs', `an integer number of milliseconds from 1 to ${MAX_TIMER_MS}`],
    [{ name: 'a', timeoutMs: 1.5 }, 'timeoutMs', `an integer number of milliseconds from 1 to ${MAX_TIMER_MS}`],
    [{ name: 'a', logger: console.log }, 'logger', 'an object with debug, info, warn and error methods'],
    [{ name: 'a', retries: -1 }, 'retries', 'an integer >= 0 or Infinity'],
    [{}, 'name', 'a non-empty string'],
    [{ name: 'a', onEvent: 1 }, 'onEvent', 'a function'],
    [{ name: 'a', signal: {} }, 'signal', 'an instance of AbortSignal'],
    [{ name: 'a', nested: { ratio: 2 } }, 'nested.ratio', 'a number from 0 to 1'],
    [{ name: 'a', nested: { enabled: 'yes' } }, 'nested.enabled', 'a boolean']
  ]
  for (const [input, option, expected] of cases) {
    const err = t.throws(() => resolveOptions(Schema, input)) as InvalidOptionError
    t.ok(err instanceof InvalidOptionError, option)
    t.match(err, { code: 'AIP_ERR_INVALID_OPTION', option, expected }, option)
  }
  t.throws(() => resolveOptions(Schema, { name: 'a', timeoutMs: 0 }, 'client'), { code: 'AIP_ERR_INVALID_OPTION', option: 'client.timeoutMs', received: '0' })
  t.throws(() => resolveOptions(Schema, 5, 'client'), { code: 'AIP_ERR_INVALID_OPTION', option: 'client', expected: 'an object', received: '5' })
  t.throws(() => resolveOptions(Schema, null), { code: 'AIP_ERR_INVALID_OPTION', option: 'options', expected: 'an object', received: 'null' })
  t.throws(() => resolveOptions(Schema, [1]), { code: 'AIP_ERR_INVALID_OPTION', option: 'options', received: 'an array of 1' })
})

t.test('unknown keys are ignored, unless the schema forbids additional properties', async (t) => {
  t.equal(resolveOptions(Schema, { name: 'a', extra: 1 }).name, 'a')
  const Strict = Type.Object({ a: Default(Type.Integer(), 1) }, { additionalProperties: false })
  t.same(resolveOptions(Strict, undefined), { a: 1 })
  t.throws(() => resolveOptions(Strict, { a: 1, typo: 2 }, 's'), { code: 'AIP_ERR_INVALID_OPTION', option: 's.typo', expected: 'no such option' })
})

t.test('a checked option uses its own predicate and words', async (t) => {
  const S = Type.Object({ client: CheckedOption<{ get: () => void }>('a Redis client', (v) => typeof (v as { get?: unknown })?.get === 'function') })
  const client = { get () {} }
  t.equal(resolveOptions(S, { client }).client, client)
  t.throws(() => resolveOptions(S, { client: {} }), { code: 'AIP_ERR_INVALID_OPTION', option: 'client', expected: 'a Redis client', received: 'an object' })
})

t.test('values are described briefly in errors', async (t) => {
  t.equal(describeValue('x'.repeat(200)).length, 80)
  t.equal(describeValue(new Map()), 'an instance of Map')
  t.equal(describeValue(Object.create(null)), 'an object')
  t.equal(describeValue(() => {}), 'a function')
  t.equal(describeValue(undefined), 'undefined')
})
