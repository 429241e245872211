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

test('newId returns distinct uuid4 strings', async (t) => {
  const ids = new Set(Array.from({ length: 100 }, () => newId()))
  t.equal(ids.size, 100)
  for (const id of ids) t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})
