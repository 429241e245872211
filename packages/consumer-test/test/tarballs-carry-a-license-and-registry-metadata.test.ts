import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { assertProjectReady, installedDir, publishedPackages, workspaceDir } from '../lib/project.js'

t.test('each tarball carries the MIT license, its repository, homepage and issue tracker, and its changelog', async (t) => {
  assertProjectReady()
  for (const { name, dir } of publishedPackages()) {
    const installed = installedDir(name)
    const license = join(installed, 'LICENSE')
    t.ok(existsSync(license), `${name} ships LICENSE`)
    if (existsSync(license)) {
      const text = readFileSync(license, 'utf8')
      t.match(text, /^MIT License/, `${name}: the license is MIT`)
      t.match(text, /Copyright \(c\) \d{4} AIP for TypeScript contributors/, `${name}: the copyright holder is named`)
    }
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      license?: string, repository?: { url?: string, directory?: string }, homepage?: string, bugs?: { url?: string }, files?: string[]
    }
    t.equal(manifest.license, 'MIT', `${name}: license field`)
    t.match(manifest.repository?.url, /^git\+https:\/\/github\.com\/.+\.git$/, `${name}: repository url`)
    t.equal(manifest.repository?.directory, relative(workspaceDir, dir).split('\\').join('/'), `${name}: repository directory`)
    t.match(manifest.homepage, /^https:\/\//, `${name}: homepage`)
    t.match(manifest.bugs?.url, /^https:\/\//, `${name}: bugs url`)
    t.ok(manifest.files?.includes('CHANGELOG.md'), `${name}: the changelog is packed once \`changeset version\` writes it`)
  }
})
