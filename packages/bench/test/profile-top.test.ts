import { test } from 'tap'
import { packageOf, selfTimes, shortUrl } from '../src/profile-top.js'

test('profile-top names scripts by package and file', async (t) => {
  t.equal(shortUrl('file:///repo/node_modules/.pnpm/ws@8.23.0/node_modules/ws/lib/receiver.js'), 'ws/lib/receiver.js')
  t.equal(shortUrl('file:///repo/packages/device-server/dist/server.js'), 'device-server/dist/server.js')
  t.equal(shortUrl('node:internal/streams/writable'), 'node:internal/streams/writable')
  t.equal(packageOf('file:///repo/node_modules/.pnpm/@fastify+websocket@11.3.6/node_modules/@fastify/websocket/index.js'), '@fastify/websocket')
  t.equal(packageOf('file:///repo/packages/protocol/dist/decode.js'), 'protocol')
  t.equal(packageOf('node:events'), 'node')
  t.equal(packageOf(''), '(native or idle)')
})

test('profile-top sums self time per key over the samples', async (t) => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 })
  const profile = {
    nodes: [{ id: 1, callFrame: frame('(root)', '') }, { id: 2, callFrame: frame('encode', 'file:///r/packages/protocol/dist/encode.js') }, { id: 3, callFrame: frame('decode', 'file:///r/packages/protocol/dist/decode.js') }],
    samples: [2, 3, 2, 1],
    timeDeltas: [100, 50, 25, 10],
    startTime: 0,
    endTime: 185
  }
  const byFunction = selfTimes(profile, (node) => node.callFrame.functionName)
  t.same(Object.fromEntries(byFunction), { encode: 125, decode: 50, '(root)': 10 })
  const byPackage = selfTimes(profile, (node) => packageOf(node.callFrame.url))
  t.same(Object.fromEntries(byPackage), { protocol: 175, '(native or idle)': 10 })
})
