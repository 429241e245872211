import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Exit codes of the `aip` command. */
export const ExitCode = {
  /** Done; for `aip task`, the task completed. */
  Ok: 0,
  /** The task ended, but not completed (failed). */
  TaskFailed: 1,
  /** Bad command line. */
  Usage: 2,
  /** The server refused us (bad token, bad API key, duplicate id) or could not be reached. */
  Refused: 3,
  /** No answer in time. */
  Timeout: 4,
  /** The device is not connected to the server. */
  NotFound: 5,
  /** Anything else. */
  Internal: 70
} as const

export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/** An error that ends the command with a chosen exit code and a one-line message. */
export class CliError extends Error {
  readonly exitCode: ExitCode
  constructor (message: string, exitCode: ExitCode) {
    super(message)
    this.exitCode = exitCode
  }
}

/** Where a command writes: results on stdout, progress and state changes on stderr. */
export interface Io {
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Resolves on SIGINT or SIGTERM (long-running commands stop then). */
  interrupted: Promise<string>
  env: NodeJS.ProcessEnv
}

/** A command of the `aip` tool. */
export interface Command {
  name: string
  summary: string
  usage: string
  options: NonNullable<ParseArgsConfig['options']>
  run: (values: Record<string, string | boolean | string[] | undefined>, io: Io) => Promise<ExitCode>
}

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' }
} as const

/** Parses a command's arguments; unknown options and stray positionals are usage errors. */
export function parse (command: Command, args: string[]): Record<string, string | boolean | string[] | undefined> {
  try {
    const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: false, strict: true })
    return values
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${command.usage}`, ExitCode.Usage)
  }
}

export function requireString (values: Record<string, unknown>, name: string): string {
  const value = values[name]
  if (typeof value !== 'string' || value === '') throw new CliError(`--${name} is required`, ExitCode.Usage)
  return value
}

/**
 * The server URLs of a repeatable `--url` option, each value one URL or several joined with commas (a comma
 * starts a new URL only when `ws://` or `wss://` follows it, so a query value may hold commas). At least one is
 * required; each must be a `ws://` or `wss://` URL (never echoed: it may carry a token).
 */
export function urlList (values: Record<string, unknown>, name = 'url'): string[] {
  const value = values[name]
  const given = Array.isArray(value) ? value : value === undefined ? [] : [value]
  const urls = given
    .filter((item): item is string => typeof item === 'string')
    .flatMap((item) => item.split(/,(?=wss?:\/\/)/))
    .map((url) => url.trim())
    .filter((url) => url !== '')
  if (urls.length === 0) throw new CliError(`--${name} is required`, ExitCode.Usage)
  urls.forEach((url, index) => {
    let parsed: URL | undefined
    try { parsed = new URL(url) } catch {}
    if (parsed === undefined || (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:')) {
      throw new CliError(`--${name} must be a ws:// or wss:// URL (URL ${index + 1} is not)`, ExitCode.Usage)
    }
  })
  if (new Set(urls).size !== urls.length) throw new CliError(`--${name} names the same URL twice`, ExitCode.Usage)
  return urls
}

export function optionalNumber (values: Record<string, unknown>, name: string, fallback: number, { min = 0 } = {}): number {
  const value = values[name]
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (typeof value !== 'string' || !Number.isFinite(parsed) || parsed < min) throw new CliError(`--${name} must be a number >= ${min}`, ExitCode.Usage)
  return parsed
}

/** Writes a result: JSON with --json, readable text otherwise. */
export function print (io: Io, json: boolean, value: unknown, human: () => string): void {
  io.stdout(json ? `${JSON.stringify(value)}\n` : `${human()}\n`)
}
