// Runs once before the test files (tap's `before`): packs every published package with pnpm, the way they are
// published, and installs the tarballs with plain npm into a fresh project outside the workspace, as a user
// would, together with the consumer program the tests compile and run.
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cleanEnv, packageDir, pnpmCommand, projectDir, publishedPackages, readyFile, run, workspaceDir } from '../lib/project.js'

function step (what: string, result: ReturnType<typeof run>): void {
  if (result.status === 0) return
  process.stderr.write(`${result.output}\n`)
  throw new Error(`${what} failed (${result.signal ?? `exit ${String(result.status)}`})`)
}

const started = Date.now()
const packages = publishedPackages()
const tarballs = join(projectDir, 'tarballs')
rmSync(projectDir, { recursive: true, force: true })
mkdirSync(tarballs, { recursive: true })

// One pnpm call packs them all, one after another: each `prepack` builds its package first.
const [npx, ...pnpm] = pnpmCommand() as [string, ...string[]]
const filters = packages.flatMap((p) => ['--filter', p.name])
step('pnpm pack', run(npx, [...pnpm, ...filters, 'pack', '--workspace-concurrency=1', '--pack-destination', tarballs], {
  cwd: workspaceDir, timeoutMs: 300_000
}))

const files = readdirSync(tarballs)
const dependencies: Record<string, string> = {}
for (const p of packages) {
  const file = `${p.name.replace(/^@/, '').replace('/', '-')}-${p.manifest.version}.tgz`
  if (!files.includes(file)) throw new Error(`pnpm pack left no ${file} (found ${files.join(', ')})`)
  dependencies[p.name] = `file:tarballs/${file}`
}
// What a user adds next to the plugin: Fastify itself, in the range the plugin asks for.
const fastifyRange = packages.find((p) => p.name === 'fastify-aip')?.manifest.peerDependencies?.fastify ?? '5.x'
dependencies.fastify = fastifyRange

cpSync(join(packageDir, 'consumer'), projectDir, { recursive: true })
writeFileSync(join(projectDir, 'package.json'), `${JSON.stringify({ name: 'aip-consumer', version: '1.0.0', private: true, type: 'module', dependencies }, null, 2)}\n`)

const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
  cwd: projectDir, timeoutMs: 300_000, env: { ...cleanEnv(), npm_config_update_notifier: 'false' }
})
step('npm install', install)
writeFileSync(join(projectDir, 'npm-install.log'), install.output)
writeFileSync(readyFile, `${JSON.stringify({ packages: packages.map((p) => p.name), tarballs: files }, null, 2)}\n`)
process.stdout.write(`# consumer project ready in ${Math.round((Date.now() - started) / 1000)} s: ${projectDir}\n`)
