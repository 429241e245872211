import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { builtinTools } from '../src/index.js'

function ctx (signal = new AbortController().signal): any {
  return { signal, callId: 'c', sessionId: 's', toolName: 't', toolType: 'action', clientId: 'd', logger: console }
}

function sandbox (t: { teardown: (fn: () => void) => void }): { root: string, outside: string } {
  const base = mkdtempSync(join(tmpdir(), 'aip-tools-'))
  t.teardown(() => rmSync(base, { recursive: true, force: true }))
  const root = join(base, 'allowed')
  const outside = join(base, 'secret')
  mkdirSync(join(root, 'sub'), { recursive: true })
  mkdirSync(outside)
  writeFileSync(join(root, 'hello.txt'), 'hello')
  writeFileSync(join(root, '..notes'), 'dots in a name are fine')
  writeFileSync(join(outside, 'key.txt'), 'do not read')
  symlinkSync(join(outside, 'key.txt'), join(root, 'link.txt'))
  return { root, outside }
}

test('file tools read inside the allowed folders only, symbolic links included', async (t) => {
  const { root, outside } = sandbox(t)
  const tools = builtinTools({ allowDirs: [root], allowCommands: [] })
  t.same(await tools.read_file!.handler({ path: 'hello.txt' }, ctx()), { path: join(root, 'hello.txt'), size: 5, content: 'hello' })
  t.equal((await tools.read_file!.handler({ path: '..notes' }, ctx()) as { content: string }).content, 'dots in a name are fine')
  await t.rejects(tools.read_file!.handler({ path: '../secret/key.txt' }, ctx()) as Promise<unknown>, /access denied/)
  await t.rejects(tools.read_file!.handler({ path: join(outside, 'key.txt') }, ctx()) as Promise<unknown>, /access denied/)
  await t.rejects(tools.read_file!.handler({ path: 'link.txt' }, ctx()) as Promise<unknown>, /access denied/, 'a link out of the folder is refused')
  await t.rejects(tools.read_file!.handler({ path: 'missing.txt' }, ctx()) as Promise<unknown>, /no such file/)
  await t.rejects(tools.read_file!.handler({ path: 'sub' }, ctx()) as Promise<unknown>, /not a file/)
  const listing = await tools.list_dir!.handler({ path: '.' }, ctx()) as { entries: Array<{ name: string, kind: string }> }
  t.same(listing.entries.map((e) => [e.name, e.kind]).sort(), [['..notes', 'file'], ['hello.txt', 'file'], ['link.txt', 'other'], ['sub', 'dir']])
  const sum = await tools.checksum!.handler({ path: 'hello.txt' }, ctx()) as { digest: string }
  t.equal(sum.digest, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
  t.equal((await tools.checksum!.handler({ path: 'hello.txt', algorithm: 'md5' }, ctx()) as { digest: string }).digest, '5d41402abc4b2a76b9719d911017c592')
})

test('without --allow-dir the file tools refuse everything', async (t) => {
  const tools = builtinTools({ allowDirs: [], allowCommands: [] })
  await t.rejects(tools.list_dir!.handler({ path: '/' }, ctx()) as Promise<unknown>, /file access is disabled/)
  await t.rejects(tools.read_file!.handler({ path: 42 }, ctx()) as Promise<unknown>, /must be a non-empty string/)
})

test('run_command exists only with an allow-list, runs without a shell, and refuses the rest', async (t) => {
  t.notOk('run_command' in builtinTools({ allowDirs: [], allowCommands: [] }))
  const tools = builtinTools({ allowDirs: [], allowCommands: [process.execPath] })
  const ran = await tools.run_command!.handler({ command: process.execPath, args: ['-e', 'process.stdout.write("ok; $(id)")'] }, ctx()) as { exit_code: number, stdout: string }
  t.same([ran.exit_code, ran.stdout], [0, 'ok; $(id)'], 'arguments are not interpreted by a shell')
  const failing = await tools.run_command!.handler({ command: process.execPath, args: ['-e', 'process.exit(3)'] }, ctx()) as { exit_code: number }
  t.equal(failing.exit_code, 3)
  await t.rejects(tools.run_command!.handler({ command: 'rm', args: ['-rf', '/'] }, ctx()) as Promise<unknown>, /command not allowed: rm/)
  await t.rejects(tools.run_command!.handler({ command: process.execPath, args: 'x' }, ctx()) as Promise<unknown>, /array of strings/)
})

test('sleep honours cancellation and bounds; echo and system_info answer', async (t) => {
  const tools = builtinTools({ allowDirs: [], allowCommands: [] })
  t.same(await tools.sleep!.handler({ ms: 1 }, ctx()), { slept_ms: 1 })
  const controller = new AbortController()
  const sleeping = tools.sleep!.handler({ ms: 50_000 }, ctx(controller.signal)) as Promise<unknown>
  controller.abort()
  await t.rejects(sleeping, /cancelled/)
  await t.rejects(tools.sleep!.handler({ ms: 10 ** 9 }, ctx()) as Promise<unknown>, /integer from 0/)
  t.same(await tools.echo!.handler({ a: 1 }, ctx()), { a: 1 })
  t.match(await tools.system_info!.handler({}, ctx()), { platform: process.platform, cpus: Number })
})
