import { test } from 'tap'
import { sanitizeTaskName } from '../src/index.js'

/** The rule as the reference writes it: every code unit outside `[A-Za-z0-9._-]` becomes `_`. */
function reference (name: string): string {
  const replaced = name.replace(/[^A-Za-z0-9._-]/g, '_')
  return /^\.+$/.test(name) ? '_'.repeat(name.length) : replaced
}

test('a task name with unsafe characters anywhere is sanitised per UTF-16 code unit, short or long, and the result does not change afterwards', async (t) => {
  const names = [
    'bench0@dev1#42', '@', 'a@', '@a', 'galaxy_task@t1', 'é', 'a\u00ffb', 'a\u0100b', 'emoji\u{1F600}x', 'x\ud800',
    'tab\there', 'nul\u0000', 'dots..@..', `${'a'.repeat(511)}@`, `${'a'.repeat(512)}@`, `@${'b'.repeat(2000)}`
  ]
  const results = names.map((name) => sanitizeTaskName(name))
  for (const [i, name] of names.entries()) t.equal(results[i], reference(name), JSON.stringify(name.slice(0, 20)))
  // Each result is a string of its own: sanitising more names leaves the earlier results as they were.
  for (let i = 0; i < 100; i++) sanitizeTaskName(`other#${i}`)
  for (const [i, name] of names.entries()) t.equal(results[i], reference(name))
})
