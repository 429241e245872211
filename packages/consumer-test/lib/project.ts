import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** This package's folder. */
export const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** The workspace root. */
export const workspaceDir = resolve(packageDir, '..', '..')

/**
 * The consumer project: a folder under the system's temp dir, outside the workspace, so that nothing of the
 * workspace (its `node_modules`, its tsconfig, its lockfile) can help the packages resolve. One per checkout.
 */
export const projectDir = join(tmpdir(), `aip-consumer-${createHash('sha256').update(workspaceDir).digest('hex').slice(0, 12)}`)

/** Written by the setup once the project is installed; the tests read it. */
export const readyFile = join(projectDir, 'ready.json')

/** The fields of a `package.json` the tests look at. */
export interface Manifest {
  name: string
  version: string
  private?: boolean
  files?: string[]
  engines?: { node?: string }
  exports?: Record<string, string | Record<string, string>>
  bin?: string | Record<string, string>
  repository?: { type?: string, url?: string, directory?: string }
  homepage?: string
  bugs?: { url?: string }
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  optionalDependencies?: Record<string, string>
}

/** A package of the workspace that is published. */
export interface PublishedPackage {
  name: string
  /** Its folder in the workspace. */
  dir: string
  manifest: Manifest
}

/** Reads a `package.json`. */
export function readManifest (dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
}

/** Every package under `packages/` that is not private, in name order. */
export function publishedPackages (): PublishedPackage[] {
  const root = join(workspaceDir, 'packages')
  const found: PublishedPackage[] = []
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const dir = join(root, entry.name)
    if (!entry.isDirectory() || !existsSync(join(dir, 'package.json'))) continue
    const manifest = readManifest(dir)
    if (manifest.private !== true) found.push({ name: manifest.name, dir, manifest })
  }
  return found.sort((a, b) => a.name.localeCompare(b.name))
}

/** Where an installed package lives in the consumer project. */
export function installedDir (name: string): string {
  return join(projectDir, 'node_modules', ...name.split('/'))
}

/** The pnpm the workspace pins (`packageManager` in the root `package.json`), run through npx. */
export function pnpmCommand (): string[] {
  const root = JSON.parse(readFileSync(join(workspaceDir, 'package.json'), 'utf8')) as { packageManager?: string }
  const pin = (root.packageManager ?? 'pnpm').split('+')[0] as string
  return ['npx', '-y', pin]
}

/**
 * The environment of the npm, pnpm, tsc and node processes the tests start: this one's, without the `npm_*`
 * and `pnpm_*` variables a package manager set for us, so that each tool sees what it would see in a terminal.
 */
export function cleanEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_/i.test(key) && key !== 'INIT_CWD') env[key] = value
  }
  return env
}

/** What a finished child process left. */
export interface RunResult {
  /** Exit code, or `null` when it was killed (a signal, the time limit). */
  status: number | null
  signal: NodeJS.Signals | null
  /** stdout and stderr, interleaved as far as the pipes allow. */
  output: string
  stdout: string
}

/** Runs a command to its end, killed after `timeoutMs`. Never throws for a failing command. */
export function run (command: string, args: readonly string[], options: { cwd: string, timeoutMs: number, env?: NodeJS.ProcessEnv }): RunResult {
  const child = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? cleanEnv(),
    encoding: 'utf8',
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024
  })
  const stdout = child.stdout ?? ''
  const spawnError = child.error === undefined ? '' : `\n${child.error.message}`
  return { status: child.status, signal: child.signal, stdout, output: `${stdout}${child.stderr ?? ''}${spawnError}` }
}

/** The workspace's TypeScript compiler (the version this package pins). */
export const tscPath = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/** Runs `tsc -p <config>` in the consumer project. */
export function tsc (config: string, ...extra: string[]): RunResult {
  return run(process.execPath, [tscPath, '-p', config, ...extra], { cwd: projectDir, timeoutMs: 240_000 })
}

/** Fails with a clear message when the setup did not install the project. */
export function assertProjectReady (): void {
  if (!existsSync(readyFile)) {
    throw new Error(`the consumer project is not installed (${projectDir}); run the tests through tap, whose \`before\` step installs it`)
  }
}
