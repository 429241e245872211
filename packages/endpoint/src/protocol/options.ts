import { DEFAULT_MAX_FRAME_BYTES } from '@aip/protocol'
import { CheckedOption, FunctionOption, LoggerOption, resolveOptions } from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import type { ProtocolMiddleware, ProtocolOptions, ProtocolRole, ResolvedProtocolOptions } from './types.js'

/** The schema of {@link ProtocolOptions}, with its defaults. */
const ProtocolOptionsSchema = Type.Object({
  role: Type.Union([Type.Literal('client'), Type.Literal('server')]),
  logger: LoggerOption(),
  maxFrameBytes: Type.Integer({ minimum: 1, default: DEFAULT_MAX_FRAME_BYTES }),
  maxFileBytes: Type.Integer({ minimum: 0, default: 64 * 1024 * 1024 }),
  maxConcurrentTransfers: Type.Integer({ minimum: 1, default: 4 }),
  chunkSize: Type.Integer({ minimum: 1, default: 1024 * 1024 }),
  acceptTransfers: Type.Boolean({ default: true }),
  maxQueuedFrames: Type.Optional(Type.Integer({ minimum: 1 })),
  middleware: Type.Optional(CheckedOption<readonly ProtocolMiddleware[]>('an array of middleware', Array.isArray)),
  clock: Type.Optional(FunctionOption<() => number>())
})

/** The option objects {@link resolveProtocolOptions} made: a protocol given one of them validates nothing. */
const RESOLVED = new WeakSet<object>()

/**
 * Validates protocol options once and returns them resolved (defaults applied) and frozen, the middleware list
 * included. Give the result to every {@link AIPProtocol} that shares these options (an endpoint does, for all
 * its connections): a protocol built with a resolved object neither validates nor copies it.
 * @throws `AIP_ERR_INVALID_OPTION` for a bad option
 */
export function resolveProtocolOptions<R extends ProtocolRole> (options: ProtocolOptions<R> | ResolvedProtocolOptions<R>): ResolvedProtocolOptions<R> {
  if (isResolvedProtocolOptions(options)) return options
  const resolved = resolveOptions(ProtocolOptionsSchema, options)
  const frozen: ResolvedProtocolOptions<R> = Object.freeze({
    role: resolved.role as R,
    logger: resolved.logger,
    maxFrameBytes: resolved.maxFrameBytes,
    maxFileBytes: resolved.maxFileBytes,
    maxConcurrentTransfers: resolved.maxConcurrentTransfers,
    chunkSize: resolved.chunkSize,
    acceptTransfers: resolved.acceptTransfers,
    maxQueuedFrames: resolved.maxQueuedFrames ?? Number.POSITIVE_INFINITY,
    clock: resolved.clock,
    middleware: Object.freeze([...(resolved.middleware ?? [])])
  })
  RESOLVED.add(frozen)
  return frozen
}

/** True for an object {@link resolveProtocolOptions} returned. */
export function isResolvedProtocolOptions<R extends ProtocolRole> (options: ProtocolOptions<R> | ResolvedProtocolOptions<R>): options is ResolvedProtocolOptions<R> {
  return RESOLVED.has(options)
}
