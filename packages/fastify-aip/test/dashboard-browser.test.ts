import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import t from 'tap'
import { TaskFailedError } from '@aip/device-server'
import type { Agent } from '../src/index.js'
import { API_KEY, TOKEN, buildApp, echoDevice, listen, registeredDevice } from './helpers/harness.js'
import { CHROMIUM, INSTALL, chromiumPath } from './helpers/chromium.js'

// The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core, which never downloads
// a browser here): a person logs in once with the API key, then watches a device register, a task run and end, and
// a device leave, without reloading. `AIP_UPDATE_SCREENSHOT=1` also writes the README's screenshot.

const executablePath = chromiumPath((message) => t.comment(message))
if (executablePath === null) {
  const why = `SKIPPED: the dashboard browser test needs Chromium at ${CHROMIUM}: install the Debian package "chromium" (as root: ${INSTALL})`
  process.stderr.write(`\n*** ${why} ***\n\n`)
  t.comment(why)
  t.test('the dashboard shows devices and tasks live in a real browser', { skip: why }, () => {})
} else {
  // An apt install may have used part of the file's time.
  t.setTimeout(120_000)
  t.test('the dashboard shows a device that registers, a task that runs and ends, and a device that leaves', async (t) => {
    // Tasks wait for the test to release them, once their first command is answered.
    const gates = new Map<string, () => void>()
    const agent: Agent = async (task, context) => {
      await context.execute([{ tool_name: 'screenshot', parameters: {}, tool_type: 'data_collection' }])
      if (task.request === 'fail') throw new TaskFailedError('the window was not found')
      if (task.request === 'hold') await new Promise<void>((resolve) => gates.set(task.taskName, resolve))
      return { status: 'completed', result: 'done' }
    }
    const app = await buildApp(t, { agent, token: TOKEN, apiKey: API_KEY, dashboard: { path: '/aip', refreshMs: 1000 } })
    const { ws, http } = await listen(app)
    const wsUrl = `${ws}/ws?token=${TOKEN}`

    const browser: Browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], headless: true })
    t.teardown(() => browser.close())
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } })

    await page.goto(`${http}/aip`)
    t.equal(await page.locator('#login').isVisible(), true, 'without the key, the login form is shown')
    await page.fill('#key', 'not-the-key')
    await page.click('#login button')
    await page.locator('#login-error').waitFor({ state: 'visible' })
    t.pass('a wrong key is refused on the page')
    await page.fill('#key', API_KEY)
    await page.click('#login button')
    await page.locator('#link[data-state="live"]').waitFor()
    t.pass('after logging in once, the page streams live updates')
    const cookies = await page.context().cookies()
    t.notOk(cookies.some((cookie) => cookie.value.includes(API_KEY)), 'the browser keeps a session cookie, never the key')
    t.ok(cookies.every((cookie) => cookie.httpOnly), 'the cookie is HttpOnly')

    const systemInfo = (id: string, cpus: number) => ({
      device_id: id, platform: 'windows', os_version: '10.0.22631', cpu_count: cpus, memory_total_gb: 31.7, hostname: `${id}-host`
    })
    const device = await registeredDevice(t, wsUrl, 'lab-pc-01', { metadata: { platform: 'windows', system_info: systemInfo('lab-pc-01', 16) } })
    echoDevice(device, 'lab-pc-01')
    const row = page.locator('tr[data-device="lab-pc-01"]')
    await row.waitFor()
    t.match(await row.innerText(), /lab-pc-01\s+windows\s+idle/, 'a device that registers appears, idle, with its platform')
    t.match(await row.innerText(), /cpu count: 16/, 'with its telemetry')
    const other = await registeredDevice(t, wsUrl, 'lab-mac-02', { metadata: { platform: 'darwin', system_info: systemInfo('lab-mac-02', 10) } })
    echoDevice(other, 'lab-mac-02')
    await page.locator('tr[data-device="lab-mac-02"]').waitFor()

    t.match(await app.aip.tasks.dispatch('lab-mac-02', 'fail', { taskName: 'open-report' }), { status: 'failed' })
    await page.locator('tr[data-error="task failed"]').waitFor()
    t.pass('a failed task is listed among the errors')

    const started = await app.aip.tasks.start('lab-pc-01', 'hold', { taskName: 'fill-expense-form' })
    const session = page.locator(`tr[data-session="${started.sessionId}"]`)
    await session.waitFor()
    await page.locator('tr[data-device="lab-pc-01"][data-state="busy"]').waitFor()
    t.match(await session.innerText(), /fill-expense-form/, 'the running task is listed, and its device is busy')
    await page.locator(`tr[data-session="${started.sessionId}"] td:last-child:text-is("1")`).waitFor()
    t.pass('the running task shows its steps')

    const shot = await page.screenshot({ fullPage: true })
    t.ok(shot.length > 10_000, 'a screenshot of the page')
    if (process.env.AIP_UPDATE_SCREENSHOT === '1') {
      const { writeFile } = await import('node:fs/promises')
      await writeFile(new URL('../docs/dashboard.png', import.meta.url), shot)
    } else {
      const { writeFile } = await import('node:fs/promises')
      await writeFile(join(tmpdir(), 'aip-dashboard.png'), shot)
    }

    gates.get('fill-expense-form')?.()
    const ended = page.locator(`tr[data-task="${started.sessionId}"][data-outcome="completed"]`)
    await ended.waitFor()
    t.match(await ended.innerText(), /fill-expense-form\s+lab-pc-01\s+completed/, 'the task that ended is listed with its outcome')
    await session.waitFor({ state: 'detached' })
    t.pass('and it is no longer running')

    device.ws.close()
    await row.waitFor({ state: 'detached' })
    t.pass('a device that leaves disappears')
    t.equal(await page.locator('#n-devices').innerText(), '1')
  })
}
