#!/usr/bin/env node
// `prepack` of every published package: refuses to pack unless pnpm is packing (only pnpm rewrites the
// `workspace:^` ranges into real versions; npm would ship them as they are and the tarball could not be
// installed), then builds the package and the packages it references (`tsc -b`) and checks that every file
// its `exports` and `bin` name is there, so a tarball never ships without its code.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const dir = process.cwd()
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
const agent = process.env.npm_config_user_agent ?? ''

function fail (message) {
  process.stderr.write(`${pkg.name}: ${message}\n`)
  process.exit(1)
}

if (!agent.startsWith('pnpm/')) {
  fail(`pack and publish with pnpm (\`pnpm pack\`, \`pnpm publish\`, or \`pnpm release\` at the root), not with ${agent.split(' ')[0] || 'an unknown tool'}: ` +
    'only pnpm replaces the `workspace:^` ranges with the versions they stand for; the package would not install')
}

const tsc = createRequire(join(dir, 'package.json')).resolve('typescript/bin/tsc')
const build = spawnSync(process.execPath, [tsc, '-b'], { cwd: dir, stdio: 'inherit' })
if (build.status !== 0) fail(`the build failed (tsc -b exited with ${build.signal ?? build.status})`)

const entries = []
for (const target of Object.values(pkg.exports ?? {})) {
  if (typeof target === 'string') entries.push(target)
  else entries.push(...Object.values(target))
}
if (typeof pkg.bin === 'string') entries.push(pkg.bin)
else entries.push(...Object.values(pkg.bin ?? {}))
const missing = entries.filter((file) => !existsSync(join(dir, file)))
if (missing.length > 0) fail(`the build left out ${missing.join(', ')}`)
