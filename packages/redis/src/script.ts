import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet (after a restart or a
 * SCRIPT FLUSH). A script runs atomically: no other command runs between its reads and its writes.
 */
export class LuaScript {
  readonly #lua: string
  readonly #sha: string

  constructor (lua: string) {
    this.#lua = lua
    this.#sha = createHash('sha1').update(lua).digest('hex')
  }

  /**
   * Runs the script with `keys` as KEYS and `args` as ARGV. (The client's own promise, chained once for the
   * fallback: no async frame of its own, one promise hop fewer per call.)
   */
  run (client: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    return client.evalsha(this.#sha, keys.length, ...keys, ...args).catch(async (err: unknown) => {
      if (!isNoScript(err)) throw err
      return await client.eval(this.#lua, keys.length, ...keys, ...args)
    })
  }
}

function isNoScript (err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && err.message.startsWith('NOSCRIPT')
}

function replyStartsWith (err: unknown, prefix: string): boolean {
  return err instanceof Error && err.name === 'ReplyError' && err.message.startsWith(prefix)
}

/** How a connection runs a library's functions: FCALL once the library is loaded, EVAL scripts where it cannot be. */
type LibraryMode = 'fcall' | 'eval'

/**
 * Lua functions loaded once into Redis as a library (Redis 7 Functions: `FUNCTION LOAD`, then `FCALL` per call),
 * each also runnable as an EVAL script. A function's helpers (its `prelude`: Lua functions that keep no state
 * between calls) are defined once when the library loads, where an EVAL script defines them again on every call;
 * and `FCALL` names the function where `EVALSHA` looks the script up by its digest.
 *
 * The library's name carries a digest of its code (`aip_<12 hex digits>`, its functions `aip_<digits>_<name>`), so
 * nodes of different versions sharing a Redis each call their own. It is loaded on a connection's first call, and
 * again when Redis answers that the function is missing (Redis restarted without persistence, `FUNCTION FLUSH`).
 * Where Redis refuses `FUNCTION LOAD` or `FCALL` (an ACL user without them), the connection runs the same code as
 * EVAL scripts from then on.
 */
export class LuaLibrary {
  readonly #functions: Array<{ readonly name: string, readonly prelude: readonly string[], readonly body: string }> = []
  #code: string | null = null
  #prefix = ''
  readonly #modes = new WeakMap<Redis, LibraryMode>()
  readonly #loading = new WeakMap<Redis, Promise<void>>()

  /**
   * Adds a function to the library (before its first call). `prelude`: pieces of Lua defining helper functions that
   * keep no state between calls (each piece defined once in the library, however many functions name it); `body`:
   * the function's code, reading KEYS and ARGV as an EVAL script does.
   */
  define (name: string, prelude: readonly string[], body: string): LuaFunction {
    if (this.#code !== null) throw new Error('LuaLibrary: define every function before the first call')
    this.#functions.push({ name, prelude, body })
    return new LuaFunction(this, name, new LuaScript(`${prelude.join('')}${body}`))
  }

  /** The library's code, and the prefix of its functions' names (computed once, at the first call). */
  #build (): string {
    if (this.#code !== null) return this.#code
    const preludes = [...new Set(this.#functions.flatMap((f) => f.prelude))]
    const functions = this.#functions.map((f) => `redis.register_function('@@_${f.name}', function(KEYS, ARGV)\n${f.body}end)\n`)
    const text = `${preludes.join('')}${functions.join('')}`
    const name = `aip_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`
    this.#prefix = `${name}_`
    this.#code = `#!lua name=${name}\n${text.replaceAll('@@_', this.#prefix)}`
    return this.#code
  }

  /** The full name of a function of the library. */
  functionName (name: string): string {
    this.#build()
    return `${this.#prefix}${name}`
  }

  /** Runs the library's functions as EVAL scripts on `client` from now on. */
  refuse (client: Redis): void {
    this.#modes.set(client, 'eval')
  }

  /** How `client` runs the library's functions (FCALL until Redis refuses the library). */
  mode (client: Redis): LibraryMode {
    return this.#modes.get(client) ?? 'fcall'
  }

  /**
   * Loads the library on `client` (once at a time per connection); a library already loaded (by another node of
   * this version) is fine. Where Redis refuses it, the connection runs EVAL scripts from then on.
   */
  async load (client: Redis): Promise<void> {
    let loading = this.#loading.get(client)
    if (loading === undefined) {
      const code = this.#build()
      loading = (client.function('LOAD', code) as Promise<unknown>).then(() => {}, (err: unknown) => {
        if (!(err instanceof Error) || err.name !== 'ReplyError') throw err
        // Loaded meanwhile (another node of this version), or refused: an ACL user without FUNCTION LOAD.
        if (!err.message.includes('already exists')) this.refuse(client)
      }).finally(() => { this.#loading.delete(client) })
      this.#loading.set(client, loading)
    }
    await loading
  }
}

/** A function of a {@link LuaLibrary}: `run` calls it with FCALL, or as an EVAL script where the library is refused. */
export class LuaFunction {
  readonly #library: LuaLibrary
  readonly #name: string
  readonly #script: LuaScript
  #fullName: string | null = null

  constructor (library: LuaLibrary, name: string, script: LuaScript) {
    this.#library = library
    this.#name = name
    this.#script = script
  }

  /**
   * Runs the function with `keys` as KEYS and `args` as ARGV: FCALL, loading the library first when Redis does not
   * know the function; the EVAL script where the connection cannot load it.
   */
  run (client: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    const library = this.#library
    if (library.mode(client) === 'eval') return this.#script.run(client, keys, args)
    const name = this.#fullName ?? (this.#fullName = library.functionName(this.#name))
    return client.fcall(name, keys.length, ...keys, ...args).catch(async (err: unknown) => {
      if (replyStartsWith(err, 'NOPERM') || replyStartsWith(err, 'ERR unknown command')) {
        // FCALL refused (an ACL user without it): EVAL scripts from now on.
        library.refuse(client)
        return await this.#script.run(client, keys, args)
      }
      if (!replyStartsWith(err, 'ERR Function not found')) throw err
      await library.load(client)
      if (library.mode(client) === 'eval') return await this.#script.run(client, keys, args)
      return await client.fcall(name, keys.length, ...keys, ...args)
    })
  }
}

/** Lua that sets `now` to Redis's clock in milliseconds, so that no node's clock matters. */
export const LUA_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/** Lua that gives key `k` a TTL of at least `ms` (a key without a TTL gets one). */
export const LUA_KEEP_TTL = "local function keep_ttl(k, ms) if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, ms) end end\n"

/**
 * Lua that gives key `k` a TTL of at least `ms`, like `keep_ttl`, in one command where the key's TTL is shorter
 * (an index every registration and renewal pushes on: its usual case) and two where it is longer or missing:
 * `PEXPIRE ... GT` (Redis 7), then `NX` for a key without a TTL.
 */
export const LUA_EXTEND_TTL = "local function extend_ttl(k, ms) if redis.call('PEXPIRE', k, ms, 'GT') == 0 then redis.call('PEXPIRE', k, ms, 'NX') end end\n"

/**
 * Lua function `fence(lease_key, epoch_key, epoch, token)`: `nil` when that epoch and token hold the lease,
 * otherwise `'fenced'` (a later registration exists) or `'expired'` (the lease ran out and nobody registered
 * since).
 */
export const LUA_FENCE = `local function fence(lk, ek, epoch, token)
  local cur = redis.call('HMGET', lk, 'epoch', 'token')
  if cur[1] == epoch and cur[2] == token then return nil end
  if not cur[1] then
    if tonumber(redis.call('GET', ek) or '0') > tonumber(epoch) then return 'fenced' end
    return 'expired'
  end
  return 'fenced'
end
`
