import { test } from 'tap'
test('smoke', async (t) => { t.equal(1, 1) })
