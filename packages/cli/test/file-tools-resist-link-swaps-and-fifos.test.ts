import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { builtinTools } from '../src/index.js'

function ctx (signal = new AbortController().signal): any {
  return { signal, callId: 'c', sessionId: 's', toolName: 't', toolType: 'action', clientId: 'd', logger: console }
}

function sandbox (t: { teardown: (fn: () => void) => void }): { root: string, outside: string } {
  const base = mkdtempSync(join(tmpdir(), 'aip-race-'))
  t.teardown(() => rmSync(base, { recursive: true, force: true }))
  const root = join(base, 'allowed')
  const outside = join(base, 'secret')
  mkdirSync(root)
  mkdirSync(outside)
  writeFileSync(join(outside, 'key.txt'), 'SECRET')
  return { root, outside }
}

test('read_file and checksum never read outside the allowed folder while a link is swapped under them', async (t) => {
  const { root, outside } = sandbox(t)
  const tools = builtinTools({ allowDirs: [root], allowCommands: [] })
  // Another process swaps `flip` between a regular file inside and a link to the secret, as fast as it can.
  const script = `
    const fs = require('node:fs'), path = require('node:path')
    const [root, secret] = process.argv.slice(1)
    const flip = path.join(root, 'flip'), a = path.join(root, '.a'), b = path.join(root, '.b')
    let first = true
    for (;;) {
      if (first) { first = false; process.stdout.write('go\\n') }
      try { fs.writeFileSync(a, 'inside'); fs.renameSync(a, flip) } catch {}
      try { fs.symlinkSync(secret, b); fs.renameSync(b, flip) } catch {}
    }`
  const swapper = spawn(process.execPath, ['-e', script, root, join(outside, 'key.txt')], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.teardown(() => { swapper.kill('SIGKILL') })
  await new Promise((resolve) => swapper.stdout.once('data', resolve))
  let leaked = 0
  let read = 0
  for (let i = 0; i < 400; i++) {
    try {
      const result = await tools.read_file!.handler({ path: 'flip' }, ctx()) as { content: string }
      read++
      if (result.content.includes('SECRET')) leaked++
    } catch {}
    try {
      const sum = await tools.checksum!.handler({ path: 'flip' }, ctx()) as { digest: string }
      // sha256('SECRET')
      if (sum.digest === '0917b13a9091915d54b6336f45909539cce452b3661b21f386418a257883b30a') leaked++
    } catch {}
  }
  swapper.kill('SIGKILL')
  t.equal(leaked, 0, `no read returned the file outside (${read} reads of the inside file succeeded)`)
})

test('a symbolic link as the last component is not followed, and a FIFO is refused at once', async (t) => {
  const { root, outside } = sandbox(t)
  symlinkSync(join(outside, 'key.txt'), join(root, 'link'))
  writeFileSync(join(root, 'target.txt'), 'inside')
  symlinkSync(join(root, 'target.txt'), join(root, 'inner-link'))
  execFileSync('mkfifo', [join(root, 'pipe')])
  const tools = builtinTools({ allowDirs: [root], allowCommands: [] })
  await t.rejects(tools.read_file!.handler({ path: 'link' }, ctx()) as Promise<unknown>, /access denied: link is a symbolic link/)
  await t.rejects(tools.read_file!.handler({ path: 'inner-link' }, ctx()) as Promise<unknown>, /symbolic link/, 'even one that stays inside')
  await t.rejects(tools.checksum!.handler({ path: 'pipe' }, ctx()) as Promise<unknown>, /not a file: pipe/, 'checksum of a FIFO does not block')
  await t.rejects(tools.read_file!.handler({ path: 'pipe' }, ctx()) as Promise<unknown>, /not a file: pipe/)
  await t.rejects(tools.list_dir!.handler({ path: 'target.txt' }, ctx()) as Promise<unknown>, /not a folder/)
})
