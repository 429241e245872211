import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import t from 'tap'
import { assertProjectReady, installedDir, publishedPackages } from '../lib/project.js'

function mapFiles (dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...mapFiles(path))
    else if (entry.name.endsWith('.map')) found.push(path)
  }
  return found
}

t.test('every source map and declaration map of a tarball points at sources the tarball ships', async (t) => {
  assertProjectReady()
  for (const { name } of publishedPackages()) {
    const root = installedDir(name)
    const maps = mapFiles(join(root, 'dist'))
    t.ok(maps.length > 0, `${name} ships its maps`)
    const dangling: string[] = []
    for (const map of maps) {
      const { sources, sourceRoot } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[], sourceRoot?: string }
      for (const source of sources) {
        const path = resolve(dirname(map), sourceRoot ?? '', source)
        if (!path.startsWith(root) || !existsSync(path)) dangling.push(`${map.slice(root.length + 1)} -> ${source}`)
      }
    }
    t.same(dangling, [], `${name}: ${maps.length} maps, no dangling source`)
  }
})
