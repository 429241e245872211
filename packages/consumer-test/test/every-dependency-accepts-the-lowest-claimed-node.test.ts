import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import semver from 'semver'
import t from 'tap'
import { assertProjectReady, installedDir, projectDir, publishedPackages, readManifest } from '../lib/project.js'

/** Where Node finds `name` from a package in `fromDir`: the nearest `node_modules/<name>` up to the project. */
function resolvePackage (fromDir: string, name: string): string | undefined {
  let dir = fromDir
  for (let depth = 0; depth < 64 && dir.startsWith(projectDir); depth++) {
    const candidate = join(dir, 'node_modules', ...name.split('/'))
    if (existsSync(join(candidate, 'package.json'))) return candidate
    dir = dirname(dir)
  }
  return undefined
}

/**
 * Every package an install of `root` brings in: its dependencies and the peers npm installs with them, then
 * theirs, as installed. Optional ones that are absent are skipped; a required one that is absent is reported.
 */
function installedTree (root: string): { dirs: Set<string>, missing: string[] } {
  const dirs = new Set<string>([root])
  const missing: string[] = []
  const queue = [root]
  while (queue.length > 0) {
    const dir = queue.shift() as string
    const manifest = readManifest(dir)
    const optionalPeers = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional === true).map(([name]) => name))
    const wanted = [
      ...Object.keys(manifest.dependencies ?? {}).map((name) => ({ name, optional: false })),
      ...Object.keys(manifest.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
      ...Object.keys(manifest.peerDependencies ?? {}).map((name) => ({ name, optional: optionalPeers.has(name) }))
    ]
    for (const { name, optional } of wanted) {
      const found = resolvePackage(dir, name)
      if (found === undefined) {
        if (!optional) missing.push(`${manifest.name} needs ${name}`)
        continue
      }
      if (dirs.has(found)) continue
      dirs.add(found)
      queue.push(found)
    }
  }
  return { dirs, missing }
}

t.test('every package each published package installs accepts the lowest Node it claims', async (t) => {
  assertProjectReady()
  for (const { name } of publishedPackages()) {
    const root = installedDir(name)
    const claim = readManifest(root).engines?.node
    if (claim === undefined) {
      t.fail(`${name} claims no Node version`)
      continue
    }
    const { dirs, missing } = installedTree(root)
    t.same(missing, [], `${name}: every dependency is installed`)
    const refusing: string[] = []
    for (const dir of dirs) {
      const dep = readManifest(dir)
      const range = dep.engines?.node
      if (range !== undefined && !semver.subset(claim, range)) refusing.push(`${dep.name}@${dep.version} wants node ${range}`)
    }
    t.same(refusing, [], `${name} claims node ${claim}; its ${dirs.size} installed packages all accept it`)
  }
})
