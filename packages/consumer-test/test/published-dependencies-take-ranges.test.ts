import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { assertProjectReady, installedDir, publishedPackages } from '../lib/project.js'

t.test('the packed manifests depend on version ranges: no workspace protocol, no exact pin', async (t) => {
  assertProjectReady()
  for (const { name } of publishedPackages()) {
    const manifest = JSON.parse(readFileSync(join(installedDir(name), 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>, peerDependencies?: Record<string, string>
    }
    const ranges = { ...manifest.dependencies, ...manifest.peerDependencies }
    const wrong = Object.entries(ranges).filter(([, range]) => range.startsWith('workspace:') || /^\d+\.\d+\.\d+$/.test(range))
    t.same(wrong, [], `${name}: ${Object.keys(ranges).length} dependencies, all ranges`)
  }
})
