import { test } from 'tap'
import { DRAIN_CLOSE_CODE, MAX_DRAIN_RETRY_MS, drainCloseReason, readDrainHint } from '../src/index.js'

test('the close reason of a drain carries its reconnect window and reads back', async (t) => {
  t.equal(DRAIN_CLOSE_CODE, 1012, 'service restart')
  t.equal(drainCloseReason(5000), 'aip-drain retry-ms=5000')
  t.equal(drainCloseReason(12.9), 'aip-drain retry-ms=12', 'rounded down')
  t.equal(drainCloseReason(0), 'aip-drain retry-ms=0')
  t.equal(drainCloseReason(10 * MAX_DRAIN_RETRY_MS), `aip-drain retry-ms=${MAX_DRAIN_RETRY_MS}`, 'capped')
  t.ok(Buffer.byteLength(drainCloseReason(MAX_DRAIN_RETRY_MS)) <= 123, 'within the close-reason limit')
  t.same(readDrainHint(1012, drainCloseReason(5000)), { retryMs: 5000 })
  t.same(readDrainHint(1012, Buffer.from('aip-drain retry-ms=250')), { retryMs: 250 }, 'a ws close event gives a Buffer')
  for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
    t.throws(() => drainCloseReason(bad), { code: 'AIP_ERR_PROTOCOL_INVALID_ARGUMENT' }, String(bad))
  }
})

test('a close without a well-formed hint reads as no hint: the usual backoff applies', async (t) => {
  t.equal(readDrainHint(1001, 'aip-drain retry-ms=5000'), null, 'not 1012')
  t.equal(readDrainHint(1012, 'server draining'), null, 'another 1012 reason')
  t.equal(readDrainHint(1012, ''), null)
  t.equal(readDrainHint(1012, undefined), null)
  t.equal(readDrainHint(1012, 'aip-drain'), null, 'no window')
  t.equal(readDrainHint(1012, 'aip-drain retry-ms='), null)
  t.equal(readDrainHint(1012, 'aip-drain retry-ms=-5'), null)
  t.equal(readDrainHint(1012, 'aip-drain retry-ms=1e3'), null)
  t.equal(readDrainHint(1012, 'aip-drainer retry-ms=5'), null, 'the first word must be the prefix itself')
  t.equal(readDrainHint(1012, 'please aip-drain retry-ms=5'), null)
})

test('a hint above the cap reads as the cap; words a later version adds are ignored', async (t) => {
  t.same(readDrainHint(1012, 'aip-drain retry-ms=999999999'), { retryMs: MAX_DRAIN_RETRY_MS })
  t.same(readDrainHint(1012, 'aip-drain node=b retry-ms=700 region=eu'), { retryMs: 700 })
  t.ok(Object.isFrozen(readDrainHint(1012, 'aip-drain retry-ms=1')))
})
