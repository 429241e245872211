import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { assertProjectReady, installedDir, publishedPackages } from '../lib/project.js'

// A relative link works in the repository but not on the registry's package page.
const relativeLink = /\]\((?!https?:\/\/|#|mailto:)([^)\s]+)\)|^\[[^\]]+\]:\s*(?!https?:\/\/|#)(\S+)/gm

t.test('the README of each tarball links with absolute URLs only', async (t) => {
  assertProjectReady()
  for (const { name } of publishedPackages()) {
    const readme = readFileSync(join(installedDir(name), 'README.md'), 'utf8')
    const relative = [...readme.matchAll(relativeLink)].map((m) => m[1] ?? m[2])
    t.same(relative, [], `${name}: no relative link`)
  }
})
