#!/usr/bin/env node
// `pnpm release`: builds and tests the workspace, turns the changesets into versions and changelogs, commits
// that, publishes every package whose new version is not on the registry yet (`pnpm publish -r`), and tags the
// commit. Arguments are passed to `pnpm publish` (`--otp 123456`, `--tag next`, `--dry-run`).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const publishArgs = process.argv.slice(2)
const dryRun = publishArgs.includes('--dry-run')
const { baseBranch } = JSON.parse(readFileSync(new URL('../.changeset/config.json', import.meta.url), 'utf8'))

function fail (message) {
  process.stderr.write(`release: ${message}\n`)
  process.exit(1)
}

function run (command, args) {
  process.stdout.write(`\n> ${[command, ...args].join(' ')}\n`)
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.status !== 0) fail(`\`${[command, ...args].join(' ')}\` failed (${result.signal ?? `exit ${result.status}`})`)
}

function git (...args) {
  const result = spawnSync('git', args, { encoding: 'utf8' })
  if (result.status !== 0) fail(`git ${args.join(' ')}: ${result.stderr.trim()}`)
  return result.stdout.trim()
}

if (!(process.env.npm_config_user_agent ?? '').startsWith('pnpm/')) fail('run it as `pnpm release`')
if (git('status', '--porcelain') !== '') fail('the working tree has uncommitted changes; commit or stash them first')
const branch = git('rev-parse', '--abbrev-ref', 'HEAD')
if (branch !== baseBranch) fail(`releases are made from ${baseBranch}, not from ${branch}`)

run('pnpm', ['install', '--frozen-lockfile'])
run('pnpm', ['run', 'build'])
run('pnpm', ['run', 'test:run'])
run('pnpm', ['changeset', 'status'])
run('pnpm', ['changeset', 'version'])

const changed = git('status', '--porcelain')
if (changed === '') {
  process.stdout.write('\nNo changeset is pending: nothing to release.\n')
  process.exit(0)
}
const versions = [...changed.matchAll(/^\s*M\s+(packages\/[^/]+)\/package\.json$/gm)].map(([, dir]) => {
  const pkg = JSON.parse(readFileSync(new URL(`../${dir}/package.json`, import.meta.url), 'utf8'))
  return `${pkg.name}@${pkg.version}`
})
git('add', '--all')
git('commit', '--quiet', '-m', `Release ${versions.join(', ')}`)

run('pnpm', ['publish', '--recursive', ...publishArgs])
if (dryRun) {
  process.stdout.write('\nDry run: nothing was published. The release commit stays on your branch; drop it with `git reset --hard HEAD~1`.\n')
  process.exit(0)
}
run('pnpm', ['changeset', 'tag'])
process.stdout.write(`\nReleased ${versions.join(', ')}. Push the commit and its tags: git push --follow-tags\n`)
