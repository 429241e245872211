import { test } from 'tap'
import { constellationClientId, constellationSessionId, newId, sanitizeTaskName } from '../src/index.js'

test('task names are sanitised as the reference does', async (t) => {
  t.equal(sanitizeTaskName('galaxy/galaxy_task/t1'), 'galaxy_galaxy_task_t1')
  t.equal(sanitizeTaskName('paint1'), 'paint1')
  t.equal(sanitizeTaskName('a b:c\\d'), 'a_b_c_d')
  t.equal(sanitizeTaskName('v1.2-rc_3'), 'v1.2-rc_3')
})

test('path traversal cannot survive sanitising', async (t) => {
  t.equal(sanitizeTaskName('../../etc/passwd'), '.._.._etc_passwd')
  t.equal(sanitizeTaskName('..'), '__')
  t.equal(sanitizeTaskName('.'), '_')
  t.equal(sanitizeTaskName('évil\u0000'), '_vil_')
})

test('constellation ids have the reference forms', async (t) => {
  t.equal(constellationSessionId('galaxy_task', 't1'), 'galaxy_task@t1')
  t.equal(constellationClientId('galaxy_task', 'dev1'), 'galaxy_task@dev1')
})

test('newId returns distinct uuid4 strings, across several refills of its random pool', async (t) => {
  // 256 ids per draw from the CSPRNG: 1,000 ids cross three refills.
  const list = Array.from({ length: 1000 }, () => newId())
  t.equal(new Set(list).size, 1000)
  for (const id of list) t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

test('an id drawn earlier is not changed by the ids drawn after it', async (t) => {
  const first = newId()
  const copy = `${first}`.split('').join('')
  for (let i = 0; i < 300; i++) newId()
  t.equal(first, copy)
})

test('the random bits of newId cover every hex digit in every random position', async (t) => {
  // 4,000 ids: a position stuck at some digits (a wrong table or offset) would show; each of the 16 digits is
  // expected 250 times per position, so missing one by chance has a probability far below 1e-20.
  const seen = Array.from({ length: 36 }, () => new Set<string>())
  for (let i = 0; i < 4000; i++) {
    const id = newId()
    for (let p = 0; p < 36; p++) seen[p]?.add(id[p] as string)
  }
  for (let p = 0; p < 36; p++) {
    const size = seen[p]?.size
    if (p === 8 || p === 13 || p === 18 || p === 23) t.equal(size, 1, `position ${p} is a dash`)
    else if (p === 14) t.equal(size, 1, 'the version digit is 4')
    else if (p === 19) t.equal(size, 4, 'the variant digit is one of 8, 9, a, b')
    else t.equal(size, 16, `position ${p} takes all 16 digits`)
  }
})
