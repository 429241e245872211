import { randomFillSync } from 'node:crypto'

/** Random bytes drawn from the system's CSPRNG in one call for 256 ids, as `crypto.randomUUID` caches them. */
const POOL_BYTES = 16 * 256
const pool = Buffer.allocUnsafe(POOL_BYTES)
let poolOffset = POOL_BYTES

/** The two lowercase hex digits of every byte, as one 16-bit number (first digit in the low byte). */
const HEX_PAIRS = new Uint16Array(256)
for (let byte = 0; byte < 256; byte++) {
  const hex = byte.toString(16).padStart(2, '0')
  HEX_PAIRS[byte] = hex.charCodeAt(0) | (hex.charCodeAt(1) << 8)
}

/** Where the two digits of each of the 16 bytes go in the 36 characters of the text form. */
const DIGITS_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]

/** The text form being written: its dashes never change. */
const text = Buffer.alloc(36)
text[8] = text[13] = text[18] = text[23] = 0x2d

/**
 * A fresh uuid4 string, the form the reference uses for `response_id`, `request_id`, `call_id` and sessions: 122
 * random bits from the CSPRNG, lowercase hex with dashes, as `crypto.randomUUID()` writes it. Written as one flat
 * string (every frame the server builds draws one: `randomUUID` builds each id from some twenty partial strings).
 */
export function newId (): string {
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const at = poolOffset
  poolOffset += 16
  // Version 4 and the RFC 4122 variant.
  pool[at + 6] = ((pool[at + 6] as number) & 0x0f) | 0x40
  pool[at + 8] = ((pool[at + 8] as number) & 0x3f) | 0x80
  for (let i = 0; i < 16; i++) {
    const pair = HEX_PAIRS[pool[at + i] as number] as number
    const to = DIGITS_AT[i] as number
    text[to] = pair & 0xff
    text[to + 1] = pair >> 8
  }
  return text.toString('latin1', 0, 36)
}

/**
 * The session id a constellation chooses for a task: `<taskName>@<taskId>`. The server echoes it verbatim.
 */
export function constellationSessionId (taskName: string, taskId: string): string {
  return `${taskName}@${taskId}`
}

/**
 * The client id a constellation registers with for one device: `<taskName>@<deviceId>`. The reference opens
 * one connection per (task name, device) pair, so two orchestrators that share a task name collide on it.
 */
export function constellationClientId (taskName: string, deviceId: string): string {
  return `${taskName}@${deviceId}`
}

const UNSAFE_TASK_NAME = /[^A-Za-z0-9._-]/g

/** Is the UTF-16 code unit `code` one of `[A-Za-z0-9._-]`? */
function safeCode (code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 46 || code === 95 || code === 45
}

/** Longest name {@link replaceUnsafe} writes into its reused buffer; a longer one goes through the regular expression. */
const REPLACE_BUFFER_CHARS = 512
/** The sanitised name being written: every character of it is ASCII. */
const replaced = Buffer.alloc(REPLACE_BUFFER_CHARS)

/**
 * `taskName` with every code unit outside `[A-Za-z0-9._-]` replaced by `_`, its first `safe` code units known to be
 * safe. Written into a reused buffer and read back as one flat string: the regular expression's replace leaves some
 * 160 bytes of garbage per name (a constellation's `<taskName>@<taskId>` session id, used as the task name when the
 * TASK has none, always has one `@` to replace).
 */
function replaceUnsafe (taskName: string, safe: number): string {
  const length = taskName.length
  if (length > REPLACE_BUFFER_CHARS) return taskName.replace(UNSAFE_TASK_NAME, '_')
  for (let i = 0; i < safe; i++) replaced[i] = taskName.charCodeAt(i)
  for (let i = safe; i < length; i++) {
    const code = taskName.charCodeAt(i)
    replaced[i] = safeCode(code) ? code : 95
  }
  return replaced.toString('latin1', 0, length)
}

/**
 * The task name as the reference server sanitises it before use: every character outside `[A-Za-z0-9._-]`
 * becomes `_` (`galaxy/galaxy_task/t1` becomes `galaxy_galaxy_task_t1`), so it is safe as a file name. A name
 * made only of dots (`.`, `..`), which the reference lets through, becomes underscores too.
 */
export function sanitizeTaskName (taskName: string): string {
  // Scanned once by code unit: a safe name (the usual case) is returned as it is, with no regular expression run.
  let onlyDots = true
  for (let i = 0; i < taskName.length; i++) {
    const code = taskName.charCodeAt(i)
    if (!safeCode(code)) return replaceUnsafe(taskName, i)
    if (code !== 46) onlyDots = false
  }
  return onlyDots && taskName.length > 0 ? '_'.repeat(taskName.length) : taskName
}
