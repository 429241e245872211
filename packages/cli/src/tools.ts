import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
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

/**
 * Resolves `path` (relative paths against the first allowed folder) and checks, after following symbolic
 * links, that it lies inside an allowed folder. Throws otherwise.
 */
async function allowed (path: string, allowDirs: readonly string[]): Promise<string> {
  if (allowDirs.length === 0) throw new Error('file access is disabled: start the device with --allow-dir')
  const candidate = isAbsolute(path) ? path : resolve(allowDirs[0] as string, path)
  let real: string
  try {
    real = await realpath(candidate)
  } catch {
    throw new Error(`no such file or folder: ${path}`)
  }
  for (const dir of allowDirs) {
    const root = await realpath(dir)
    const rel = relative(root, real)
    if (rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..')) return real
  }
  throw new Error(`access denied: ${path} is outside the allowed folders`)
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
        const dir = await allowed(text(params, 'path'), options.allowDirs)
        const entries = await readdir(dir, { withFileTypes: true })
        const list = await Promise.all(entries.slice(0, 1000).map(async (entry) => ({
          name: entry.name,
          kind: entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other',
          size: entry.isFile() ? (await stat(resolve(dir, entry.name))).size : null
        })))
        return { path: dir, entries: list, truncated: entries.length > 1000 }
      }
    },
    read_file: {
      description: `Reads a text file inside the allowed folders (at most ${maxReadBytes} bytes).`,
      toolType: 'data_collection',
      inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      handler: async (params) => {
        const file = await allowed(text(params, 'path'), options.allowDirs)
        const info = await stat(file)
        if (!info.isFile()) throw new Error(`not a file: ${String(params.path)}`)
        if (info.size > maxReadBytes) throw new Error(`file too large: ${info.size} bytes (limit ${maxReadBytes})`)
        return { path: file, size: info.size, content: await readFile(file, 'utf8') }
      }
    },
    checksum: {
      description: 'The sha256 (default) or md5 of a file inside the allowed folders.',
      toolType: 'data_collection',
      inputSchema: { type: 'object', properties: { path: { type: 'string' }, algorithm: { enum: ['sha256', 'md5'] } }, required: ['path'] },
      handler: async (params, ctx) => {
        const file = await allowed(text(params, 'path'), options.allowDirs)
        const algorithm = params.algorithm === 'md5' ? 'md5' : 'sha256'
        const hash = createHash(algorithm)
        await new Promise<void>((resolve, reject) => {
          const stream = createReadStream(file, { signal: ctx.signal })
          stream.on('data', (chunk) => hash.update(chunk))
          stream.on('end', resolve)
          stream.on('error', reject)
        })
        return { path: file, algorithm, digest: hash.digest('hex') }
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
