// Each package's errors narrow with `instanceof` to their exact code; an error type that resolved to `any`
// fails to compile here.
import { CliError } from '@aip/cli'
import { StoppedError } from '@aip/constellation'
import { ConnectionError } from '@aip/device-client'
import { SessionCancelledError } from '@aip/device-server'
import { TransportClosedError } from '@aip/endpoint'
import { ClosedError } from '@aip/mcp-executor'
import { InvalidJsonError } from '@aip/protocol'
import { RedisUnavailableError } from '@aip/redis'
import { TimeoutError } from '@aip/resilience'
import { InvalidOptionError, TaskNotFoundError } from 'fastify-aip'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/** The code of an error of one of the packages, or `undefined`. */
export function codeOf (err: unknown): string | undefined {
  if (err instanceof TimeoutError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_TIMEOUT'> = true
    const operation: string = err.operation
    return exact && operation.length > 0 ? err.code : undefined
  }
  if (err instanceof InvalidJsonError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_PROTOCOL_INVALID_JSON'> = true
    return exact ? err.code : undefined
  }
  if (err instanceof TransportClosedError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED'> = true
    return exact ? err.code : undefined
  }
  if (err instanceof SessionCancelledError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_SERVER_SESSION_CANCELLED'> = true
    return exact ? err.code : undefined
  }
  if (err instanceof ConnectionError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_DEVICE_CONNECTION'> = true
    return exact ? err.code : undefined
  }
  if (err instanceof StoppedError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_CONSTELLATION_STOPPED'> = true
    return exact ? err.code : undefined
  }
  if (err instanceof TaskNotFoundError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_FASTIFY_TASK_NOT_FOUND'> = true
    return exact ? err.code : undefined
  }
  if (err instanceof InvalidOptionError) {
    // The shared family of @aip/resilience, re-exported by the packages that throw it.
    const exact: Equals<typeof err.code, 'AIP_ERR_INVALID_OPTION'> = true
    const option: string = err.option
    return exact && option.length > 0 ? err.code : undefined
  }
  if (err instanceof ClosedError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_MCP_CLOSED'> = true
    return exact ? err.code : undefined
  }
  if (err instanceof RedisUnavailableError) {
    const exact: Equals<typeof err.code, 'AIP_ERR_REDIS_UNAVAILABLE'> = true
    const operation: string = err.operation
    return exact && operation.length > 0 ? err.code : undefined
  }
  if (err instanceof CliError) {
    const exitCode: number = err.exitCode
    return `exit ${exitCode}`
  }
  return undefined
}

/** One error of each package, built the way a user's code or a test would. */
export function sampleErrors (): unknown[] {
  return [
    new TimeoutError('register', 5),
    new InvalidJsonError('bad'),
    new TransportClosedError(),
    new SessionCancelledError('s1', 'gone'),
    new ConnectionError('dev', 'refused'),
    new StoppedError(),
    new TaskNotFoundError('t1'),
    new InvalidOptionError('path', 'a string', '42'),
    new ClosedError(),
    new RedisUnavailableError('probe', 'down'),
    new Error('not ours')
  ]
}
