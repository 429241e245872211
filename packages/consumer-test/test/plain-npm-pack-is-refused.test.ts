import t from 'tap'
import { publishedPackages, run } from '../lib/project.js'

t.test('packing a published package with plain npm is refused before anything is packed', async (t) => {
  const [first] = publishedPackages()
  if (first === undefined) throw new Error('no published package found')
  const pack = run('npm', ['pack', '--dry-run'], { cwd: first.dir, timeoutMs: 60_000 })
  t.not(pack.status, 0, 'npm pack fails')
  t.match(pack.output, /pack and publish with pnpm/, 'and says to use pnpm')
})
