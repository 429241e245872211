import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { API_KEY, buildApp, listen } from './helpers/harness.js'
import { CHROMIUM, INSTALL, chromiumPath } from './helpers/chromium.js'

// In a real headless Chromium: a person whose address failed too often is told to wait, not that the key is wrong.

const executablePath = chromiumPath((message) => t.comment(message))
if (executablePath === null) {
  const why = `SKIPPED: the dashboard browser test needs Chromium at ${CHROMIUM}: install the Debian package "chromium" (as root: ${INSTALL})`
  process.stderr.write(`\n*** ${why} ***\n\n`)
  t.comment(why)
  t.test('the login form says when the address must wait', { skip: why }, () => {})
} else {
  t.setTimeout(120_000)
  t.test('the login form says a key is wrong, then, past the limit, how long the address must wait', async (t) => {
    const app = await buildApp(t, { apiKey: API_KEY, dashboard: true, authFailureLimit: { maxFailures: 2, windowMs: 60_000 } })
    const { http } = await listen(app)
    const browser: Browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], headless: true })
    t.teardown(() => browser.close())
    const page = await browser.newPage()
    await page.goto(`${http}/aip`)
    const error = page.locator('#login-error')

    for (const key of ['guess-1', 'guess-2']) {
      await page.fill('#key', key)
      await page.click('#login button')
      await error.waitFor({ state: 'visible' })
      t.equal(await error.innerText(), 'That key is not accepted.', `${key}: the key is wrong`)
      // Hidden again, so that the next answer is the one waited for.
      await error.evaluate((element: { hidden: boolean }) => { element.hidden = true })
    }
    await page.fill('#key', API_KEY)
    await page.click('#login button')
    await page.locator('#login-error', { hasText: 'Too many' }).waitFor()
    t.match(await error.innerText(), /^Too many failed attempts from this address: try again in \d+ s\.$/, 'the right key, refused: the person is told to wait')
    t.equal((await page.context().cookies()).length, 0, 'no session cookie')
  })
}
