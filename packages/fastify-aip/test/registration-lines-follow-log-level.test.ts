import { test } from 'tap'
import { buildApp, listen, logCapture, registeredDevice } from './helpers/harness.js'

// The endpoint skips building per-connection lines its logger would drop: pino at an enabled level still writes them.

for (const direct of [false, true]) {
  test(`with pino at info, every registration is logged; at warn, none (${direct ? 'direct' : 'route'} upgrade)`, async (t) => {
    const atInfo = logCapture()
    const app = await buildApp(t, { upgrade: direct ? 'direct' : 'route' }, { logger: { level: 'info', stream: atInfo.stream } })
    const { ws } = await listen(app)
    for (const id of ['lvl-a', 'lvl-b']) await registeredDevice(t, `${ws}/ws`, id)
    const registered = atInfo.lines.filter((l) => l.msg === 'client registered').map((l) => l.clientId)
    t.same(registered.sort(), ['lvl-a', 'lvl-b'], 'one line per registration')

    const atWarn = logCapture()
    const quiet = await buildApp(t, { upgrade: direct ? 'direct' : 'route' }, { logger: { level: 'warn', stream: atWarn.stream } })
    const quietUrls = await listen(quiet)
    await registeredDevice(t, `${quietUrls.ws}/ws`, 'lvl-c')
    t.same(atWarn.lines.filter((l) => l.msg === 'client registered'), [], 'nothing below warn')
  })
}
