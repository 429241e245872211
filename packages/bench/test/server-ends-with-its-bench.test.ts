import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { test } from 'tap'

const CONTROL = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'server-control.js')).href

/** Whether `pid` is a running process: one that has exited but not been reaped yet (a zombie) is not. */
function alive (pid: number): boolean {
  try {
    // Linux: the state is the field after the command's closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self/stat')) return false
  }
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// A bench killed in the middle of a run (Ctrl-C, SIGKILL, a crash) must not leave its server processes running:
// a server under callgrind would otherwise hold a core for good.
test('a server process ends when the bench that started it dies', async (t) => {
  const script = `
    import { ServerProcess } from ${JSON.stringify(CONTROL)}
    const server = await ServerProcess.start('baseline')
    process.stdout.write(String(server.pid) + '\\n')
    setInterval(() => {}, 1000)
  `
  const bench = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { bench.kill('SIGKILL') })
  const [line] = await once(bench.stdout, 'data') as [Buffer]
  const pid = Number(line.toString().trim())
  t.ok(pid > 0 && alive(pid), `the server runs (pid ${pid})`)
  // Should it outlive its bench, it must not outlive the test (it holds the test's output open).
  t.teardown(() => { if (alive(pid)) process.kill(pid, 'SIGKILL') })
  const exited = new Promise<void>((resolve) => {
    // The server is not this test's child: it is watched until it is gone, at most 10 s in 20 ms steps.
    let checks = 0
    const timer = setInterval(() => {
      if (!alive(pid) || ++checks > 500) {
        clearInterval(timer)
        resolve()
      }
    }, 20)
  })
  bench.kill('SIGKILL')
  await exited
  t.notOk(alive(pid), 'the server is gone once its bench is')
})
