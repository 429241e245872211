import t from 'tap'
import { silentLogger, type Logger } from '../src/index.js'
import { logsAt } from '../src/internal.js'

// logsAt: is a line of that level written? Asked before building the fields of a per-task line.

t.test('a level whose method does nothing is not logged: the silent logger, an abstract (no-op) logger', async (t) => {
  t.equal(logsAt(silentLogger, 'info'), false)
  t.equal(logsAt(silentLogger, 'debug'), false)
  // The shape of Fastify's `logger: false` logger (abstract-logging): one empty function for every level, on a
  // prototype, and no isLevelEnabled.
  function noop (): void { }
  const abstract = Object.create({ fatal: noop, error: noop, warn: noop, info: noop, debug: noop, trace: noop }) as Logger
  t.equal(logsAt(abstract, 'info'), false)
  t.equal(logsAt(abstract, 'error'), false)
  const arrow = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
  t.equal(logsAt(arrow, 'info'), false)
})

t.test('a level whose method writes is logged, even when every level shares that method', async (t) => {
  const lines: unknown[] = []
  const write = (obj: object): void => { lines.push(obj) }
  t.equal(logsAt({ debug: write, info: write, warn: write, error: write }, 'info'), true)
  const mixed = { debug: () => {}, info: (obj: object) => { lines.push(obj) }, warn: write, error: write }
  t.equal(logsAt(mixed, 'info'), true)
  t.equal(logsAt(mixed, 'debug'), false, 'only that level is told apart')
  t.equal(logsAt({ debug: console.log, info: console.log, warn: console.log, error: console.log }, 'info'), true, 'a native function writes')
})

t.test('a logger with isLevelEnabled (pino) is asked at every call', async (t) => {
  let level = 'info'
  const order = ['debug', 'info', 'warn', 'error']
  const write = (): void => {}
  const logger = {
    debug: (obj: object) => { write() },
    info: (obj: object) => { write() },
    warn: (obj: object) => { write() },
    error: (obj: object) => { write() },
    isLevelEnabled (this: { marker: number }, asked: string): boolean { return this.marker === 1 && order.indexOf(asked) >= order.indexOf(level) },
    marker: 1
  }
  t.equal(logsAt(logger, 'info'), true)
  t.equal(logsAt(logger, 'debug'), false)
  level = 'warn'
  t.equal(logsAt(logger, 'info'), false, 'a level changed at run time is seen')
})
