import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { constants, type Stats } from 'node:fs'
import { lstat, open, readdir, readlink, realpath, stat, type FileHandle } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import type { ToolSet } from '@aip/device-client'

/** Options of the built-in tool set of `aip device`. */
export interface BuiltinToolOptions {
  /** Folders the file tools may read (after resolving symbolic links). None: the file tools refuse everything. */
  allowDirs: readonly string[]
  /** Executables `run_command` may start (by name or path). None: `run_command` is not offered at all. */
  allowCommands: readonly string[]
  /** Largest file `read_file` returns, in bytes. */
  maxReadBytes?: number
}

const MAX_SLEEP_MS = 60_000

function text (params: Record<string, unknown>, name: string): string {
  const value = params[name]
  if (typeof value !== 'string' || value === '') throw new Error(`parameter "${name}" must be a non-empty string`)
  return value
}

/** True when `real` is `root` or inside it. */
function inside (root: string, real: string): boolean {
  const rel = relative(root, real)
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..')
}

/** An opened file or folder inside the allowed folders: read it through `handle`, never by its path again. */
interface Opened {
  readonly handle: FileHandle
  /** Its real path, as the open descriptor says. */
  readonly real: string
  readonly info: Stats
}

/**
 * The real path of an open descriptor: `/proc/self/fd/N` where the system has it (Linux). Elsewhere the path is
 * resolved again and accepted only when it names the very file that is open (same device and inode).
 */
async function realPathOf (handle: FileHandle, candidate: string, info: Stats): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`)
  } catch {
    const real = await realpath(candidate)
    const now = await stat(real)
    if (now.dev !== info.dev || now.ino !== info.ino) throw new Error('the path changed while it was opened')
    return real
  }
}

/**
 * Opens `path` (relative paths against the first allowed folder) once, without following a symbolic link in its
 * last component and without blocking (a FIFO opens at once), then checks the opened descriptor: its real path
 * must lie inside an allowed folder, and it must be a regular file (or a folder, for `kind: 'dir'`). What is read
 * afterwards is read through that descriptor, so swapping a link between the check and the read changes nothing.
 */
async function openAllowed (path: string, allowDirs: readonly string[], kind: 'file' | 'dir'): Promise<Opened> {
  if (allowDirs.length === 0) throw new Error('file access is disabled: start the device with --allow-dir')
  const candidate = isAbsolute(path) ? path : resolve(allowDirs[0] as string, path)
  let handle: FileHandle
  try {
    handle = await open(candidate, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ELOOP' || code === 'EMLINK') throw new Error(`access denied: ${path} is a symbolic link (links are not followed)`)
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new Error(`no such file or folder: ${path}`)
    throw new Error(`cannot open ${path}: ${code ?? 'error'}`)
  }
  try {
    const info = await handle.stat()
    const real = await realPathOf(handle, candidate, info)
    let permitted = false
    for (const dir of allowDirs) {
      if (inside(await realpath(dir), real)) { permitted = true; break }
    }
    if (!permitted) throw new Error(`access denied: ${path} is outside the allowed folders`)
    if (kind === 'file' && !info.isFile()) throw new Error(`not a file: ${path}`)
    if (kind === 'dir' && !info.isDirectory()) throw new Error(`not a folder: ${path}`)
    return { handle, real, info }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** Reads at most `max` bytes from an open file, from its start. */
async function readUpTo (handle: FileHandle, max: number): Promise<Buffer> {
  const buffer = Buffer.alloc(max)
  let total = 0
  while (total < max) {
    const { bytesRead } = await handle.read(buffer, total, max - total, total)
    if (bytesRead === 0) break
    total += bytesRead
  }
  return buffer.subarray(0, total)
}

/** The tools `aip device` offers: safe by default, commands only from an explicit allow-list. */
export function builtinTools (options: BuiltinToolOptions): ToolSet {
  const maxReadBytes = options.maxReadBytes ?? 1024 * 1024
  const tools: Record<string, ToolSet[string]> = {
    echo: {
      description: 'Returns its parameters unchanged.',
      toolType: 'data_collection',
      inputSchema: { type: 'object' },
      handler: (params) => params
    },
    sleep: {
      description: `Waits for "ms" milliseconds (at most ${MAX_SLEEP_MS}), then returns. Honours cancellation.`,
      toolType: 'action',
      inputSchema: { type: 'object', properties: { ms: { type: 'integer', minimum: 0, maximum: MAX_SLEEP_MS } }, required: ['ms'] },
      handler: async (params, ctx) => {
        const ms = params.ms
        if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_SLEEP_MS) throw new Error(`parameter "ms" must be an integer from 0 to ${MAX_SLEEP_MS}`)
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms)
          ctx.signal.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('cancelled')) }, { once: true })
        })
        return { slept_ms: ms }
      }
    },
    system_info: {
      description: 'Operating system, CPU, memory, uptime and load of the device.',
      toolType: 'data_collection',
      inputSchema: { type: 'object' },
      handler: async () => {
        const os = await import('node:os')
        return {
          platform: os.platform(),
          release: os.release(),
          arch: os.arch(),
          hostname: os.hostname(),
          cpus: os.cpus().length,
          memory_total_bytes: os.totalmem(),
          memory_free_bytes: os.freemem(),
          uptime_s: Math.round(os.uptime()),
          load_average: os.loadavg()
        }
      }
    },
    list_dir: {
      description: 'Lists a folder inside the allowed folders: name, kind and size of each entry.',
      toolType: 'data_collection',
      inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      handler: async (params) => {
        const { handle, real } = await openAllowed(text(params, 'path'), options.allowDirs, 'dir')
        try {
          // Through the open descriptor where the system allows (Linux), so a folder swapped meanwhile is not listed.
          const through = process.platform === 'linux' ? `/proc/self/fd/${handle.fd}` : real
          const entries = await readdir(through, { withFileTypes: true })
          const list = await Promise.all(entries.slice(0, 1000).map(async (entry) => ({
            name: entry.name,
            kind: entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other',
            size: entry.isFile() ? (await lstat(resolve(through, entry.name))).size : null
          })))
          return { path: real, entries: list, truncated: entries.length > 1000 }
        } finally {
          await handle.close()
        }
      }
    },
    read_file: {
      description: `Reads a text file inside the allowed folders (at most ${maxReadBytes} bytes).`,
      toolType: 'data_collection',
      inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      handler: async (params) => {
        const { handle, real, info } = await openAllowed(text(params, 'path'), options.allowDirs, 'file')
        try {
          if (info.size > maxReadBytes) throw new Error(`file too large: ${info.size} bytes (limit ${maxReadBytes})`)
          // Through the descriptor, and never more than the limit even if the file grows meanwhile.
          const content = await readUpTo(handle, maxReadBytes + 1)
          if (content.length > maxReadBytes) throw new Error(`file too large: more than ${maxReadBytes} bytes`)
          return { path: real, size: content.length, content: content.toString('utf8') }
        } finally {
          await handle.close()
        }
      }
    },
    checksum: {
      description: 'The sha256 (default) or md5 of a file inside the allowed folders.',
      toolType: 'data_collection',
      inputSchema: { type: 'object', properties: { path: { type: 'string' }, algorithm: { enum: ['sha256', 'md5'] } }, required: ['path'] },
      handler: async (params, ctx) => {
        const { handle, real } = await openAllowed(text(params, 'path'), options.allowDirs, 'file')
        const algorithm = params.algorithm === 'md5' ? 'md5' : 'sha256'
        const hash = createHash(algorithm)
        try {
          await new Promise<void>((resolve, reject) => {
            const stream = handle.createReadStream({ start: 0, autoClose: false, signal: ctx.signal })
            stream.on('data', (chunk) => hash.update(chunk))
            stream.on('end', resolve)
            stream.on('error', reject)
          })
        } finally {
          await handle.close()
        }
        return { path: real, algorithm, digest: hash.digest('hex') }
      }
    }
  }
  if (options.allowCommands.length > 0) {
    const allowList = new Set(options.allowCommands)
    tools.run_command = {
      description: `Runs one allowed executable without a shell: ${[...allowList].join(', ')}.`,
      toolType: 'action',
      inputSchema: { type: 'object', properties: { command: { type: 'string' }, args: { type: 'array', items: { type: 'string' } } }, required: ['command'] },
      handler: async (params, ctx) => {
        const command = text(params, 'command')
        if (!allowList.has(command)) throw new Error(`command not allowed: ${command}`)
        const args = params.args ?? []
        if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new Error('parameter "args" must be an array of strings')
        return await new Promise((resolve, reject) => {
          execFile(command, args, { signal: ctx.signal, timeout: 60_000, maxBuffer: 1024 * 1024, windowsHide: true }, (err, stdout, stderr) => {
            if (err !== null && typeof (err as { code?: unknown }).code !== 'number') { reject(err); return }
            resolve({ exit_code: err === null ? 0 : (err as { code: number }).code, stdout, stderr })
          })
        })
      }
    }
  }
  return tools
}
