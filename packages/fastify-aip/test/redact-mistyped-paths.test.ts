import { EventEmitter } from 'node:events'
import type { IncomingMessage, Server } from 'node:http'
import { test } from 'tap'
import { redactMistypedPaths } from '../src/redact.js'

function urlAfter (server: EventEmitter, event: 'request' | 'upgrade', url: string): string {
  const request = { url } as IncomingMessage
  server.emit(event, request)
  return request.url as string
}

test('only the tokens of paths the router will not send to the WebSocket route are redacted', async (t) => {
  const strict = new EventEmitter()
  const stop = redactMistypedPaths(strict as unknown as Server, '/ws', { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, caseSensitive: true })
  t.equal(urlAfter(strict, 'request', '/ws?token=s'), '/ws?token=s', 'the route itself is left alone')
  t.equal(urlAfter(strict, 'upgrade', '/ws/?token=s'), '/ws/?token=[redacted]')
  t.equal(urlAfter(strict, 'request', '//WS//?x=1&token=s'), '//WS//?x=[redacted]&token=[redacted]', 'every query value is hidden')
  t.equal(urlAfter(strict, 'request', '/wss?token=s'), '/wss?token=s', 'another path is not touched')
  t.equal(urlAfter(strict, 'request', '/ws/'), '/ws/', 'no token, nothing to do')
  t.equal(urlAfter(strict, 'request', '/'), '/')
  stop()
  t.equal(urlAfter(strict, 'request', '/ws/?token=s'), '/ws/?token=s', 'stopped')

  const lenient = new EventEmitter()
  redactMistypedPaths(lenient as unknown as Server, '/ws', { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false })
  t.equal(urlAfter(lenient, 'request', '//WS/?token=s'), '//WS/?token=s', 'routed to the WebSocket route: its token is needed')
})
