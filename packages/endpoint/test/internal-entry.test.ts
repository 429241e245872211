import t from 'tap'
import * as root from '../src/index.js'
import * as internal from '../src/internal.js'

t.test('internals are reachable from the internal entry point only', async (t) => {
  for (const name of ['md5Hex', 'TransferReassembler', 'rechunk', 'truncateReason', 'timeoutArgument', 'Waiters']) {
    t.ok(name in internal, `${name} is in ./internal`)
    t.notOk(name in root, `${name} left the root`)
  }
  t.equal(internal.md5Hex(Buffer.from('abc')), '900150983cd24fb0d6963f7d28e17f72')
})
