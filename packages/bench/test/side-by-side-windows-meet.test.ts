import { test } from 'tap'
import { meeting } from '../src/scenarios.js'

// The light load side by side opens both servers' windows at one moment: neither run samples before the other
// has finished its warm-up.
test('a meeting lets no party go on until every party has arrived', async (t) => {
  const meet = meeting(2)
  const order: string[] = []
  const first = meet().then(() => { order.push('first went on') })
  // The first party waits while the second is still warming up.
  await new Promise((resolve) => setImmediate(resolve))
  order.push('second arrives')
  const second = meet().then(() => { order.push('second went on') })
  await Promise.all([first, second])
  t.same(order, ['second arrives', 'first went on', 'second went on'])
})

test('a meeting of one party opens at once', async (t) => {
  await meeting(1)()
  t.pass('resolved')
})
