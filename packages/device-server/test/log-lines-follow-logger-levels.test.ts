import { test } from 'tap'
import { CloseCode, type Logger } from '@aip/endpoint'
import { registeredDevice, startServer } from './helpers/harness.js'

test('per-connection lines are skipped while the logger drops them, and written once its level turns on', async (t) => {
  const lines: Array<{ fields: Record<string, unknown>, msg: string }> = []
  const record = (fields: Record<string, unknown>, msg: string): void => { lines.push({ fields, msg }) }
  // Like pino's `isLevelEnabled`: the level is asked before a line is built. The methods themselves would write, so
  // a line built and sent while the level is off would be seen.
  let infoOn = false
  const logger: Logger & { isLevelEnabled: (level: string) => boolean } = {
    debug: record as Logger['debug'],
    info: record as Logger['info'],
    warn: record as Logger['warn'],
    error: record as Logger['error'],
    isLevelEnabled: (level) => level !== 'info' && level !== 'debug' ? true : infoOn
  }
  const { wsUrl, endpoint } = await startServer(t, { logger })
  const quiet = await registeredDevice(t, wsUrl, 'quiet-dev')
  t.same(lines.filter((line) => line.msg === 'client registered'), [], 'nothing written while info is off')
  infoOn = true
  const loud = await registeredDevice(t, wsUrl, 'loud-dev')
  t.ok(lines.some((line) => line.msg === 'client registered' && line.fields.clientId === 'loud-dev'), 'the registration is logged once info is on')
  const gone = (clientId: string): Promise<void> => new Promise((resolve) => {
    const stop = endpoint.on('clientDisconnected', (event) => { if (event.clientId === clientId) { stop(); resolve() } })
  })
  const loudGone = gone('loud-dev')
  loud.ws.close(CloseCode.Normal)
  await loudGone
  t.ok(lines.some((line) => line.msg === 'client disconnected' && line.fields.clientId === 'loud-dev'), 'the disconnection is logged')
  infoOn = false
  const quietGone = gone('quiet-dev')
  quiet.ws.close(CloseCode.Normal)
  await quietGone
  t.notOk(lines.some((line) => line.msg === 'client disconnected' && line.fields.clientId === 'quiet-dev'), 'skipped again once info is off')
})
