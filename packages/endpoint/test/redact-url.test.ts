import t from 'tap'
import { connectError, redactUrl } from '../src/index.js'

t.test('redactUrl keeps the query keys and hides every value, whatever the key or its case', async (t) => {
  t.equal(redactUrl('ws://h:81/ws?token=abc&x=1'), 'ws://h:81/ws?token=[redacted]&x=[redacted]')
  t.equal(redactUrl('/ws?a=1&token=abc&TOKEN=def'), '/ws?a=[redacted]&token=[redacted]&TOKEN=[redacted]')
  t.equal(redactUrl('/ws?api_key=k&sig=s'), '/ws?api_key=[redacted]&sig=[redacted]', 'not only the token')
})

t.test('redactUrl leaves keys without a value and empty values as they are', async (t) => {
  t.equal(redactUrl('/ws?flag&token=&x=1'), '/ws?flag&token=&x=[redacted]')
  t.equal(redactUrl('/ws?'), '/ws?')
})

t.test('redactUrl hides the password of the user info and the fragment', async (t) => {
  t.equal(redactUrl('wss://user:secret@h/ws?token=a#frag'), 'wss://user:[redacted]@h/ws?token=[redacted]#[redacted]')
  t.equal(redactUrl('wss://user@h/ws'), 'wss://user@h/ws', 'a user without password is kept')
  t.equal(redactUrl('/ws?token=a#'), '/ws?token=[redacted]#')
  t.equal(redactUrl('ws://h/p:a@b'), 'ws://h/p:a@b', 'an @ in the path is not user info')
})

t.test('redactUrl returns a URL without query, password or fragment unchanged', async (t) => {
  t.equal(redactUrl('ws://h/ws'), 'ws://h/ws')
  t.equal(redactUrl('/ws'), '/ws')
  t.equal(redactUrl(''), '')
})

t.test('the connect error carries the redacted URL, never a query value', async (t) => {
  const err = connectError('ws://h/ws?token=abc', 'refused', 401)
  t.equal(err.url, 'ws://h/ws?token=[redacted]')
  t.notMatch(err.message, /abc/)
})
