import { test } from 'tap'
import { diff, kindOf, totals } from '../src/heap-diff.js'

test('heap-diff names objects by constructor, closures by function, strings and code by type', async (t) => {
  t.equal(kindOf('object', 'ClientConnection'), 'ClientConnection')
  t.equal(kindOf('object', ''), '(object)')
  t.equal(kindOf('closure', 'onSocketMessage'), 'closure onSocketMessage()')
  t.equal(kindOf('closure', ''), 'closure (anonymous)()')
  t.equal(kindOf('string', 'dev-1'), '(string)', 'a string is grouped by type, not by its text')
  t.equal(kindOf('code', 'decode'), '(code)')
  t.equal(kindOf('hidden', 'system / Context'), '(hidden) system / Context')
})

test('heap-diff counts and sums self sizes per kind and subtracts two snapshots', async (t) => {
  const meta = { node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'], node_types: [['hidden', 'object', 'closure', 'string']] as [string[]] }
  const strings = ['', 'Socket', 'AIPProtocol', 'dev-1', 'dev-2', 'onData']
  const before = totals({ snapshot: { meta }, strings, nodes: [1, 1, 1, 200, 0, 3, 3, 2, 24, 0] })
  t.same(Object.fromEntries(before), { Socket: { count: 1, bytes: 200 }, '(string)': { count: 1, bytes: 24 } })
  const after = totals({ snapshot: { meta }, strings, nodes: [1, 1, 1, 200, 0, 1, 1, 3, 200, 0, 1, 2, 5, 96, 0, 3, 3, 7, 24, 0, 3, 4, 8, 24, 0, 2, 5, 9, 32, 0] })
  t.same(diff(before, after), [
    ['Socket', { count: 1, bytes: 200 }],
    ['AIPProtocol', { count: 1, bytes: 96 }],
    ['closure onData()', { count: 1, bytes: 32 }],
    ['(string)', { count: 1, bytes: 24 }]
  ], 'what was added, largest first; unchanged kinds left out')
})
