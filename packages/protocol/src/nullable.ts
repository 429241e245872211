import { Type, type TNull, type TOptional, type TSchema, type TUnion } from '@sinclair/typebox'

/**
 * A field the reference declares `Optional[...] = None`: it may be omitted or `null` on input, and is written as
 * `null` when unset on output.
 */
export function nullable<T extends TSchema> (schema: T): TOptional<TUnion<[T, TNull]>> {
  return Type.Optional(Type.Union([schema, Type.Null()]))
}
