import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** One captured frame of the Python reference corpus. */
export interface WireLine {
  /** The transcript file it comes from. */
  file: string
  seq: number
  /** `device:<id>`, `constellation:<id>` or `raw:probeN`. */
  conn: string
  dir: 'client->server' | 'server->client'
  /** The parsed JSON frame, or the raw text of a frame that was not JSON. */
  frame: unknown
  /** The frame was a binary WebSocket frame. */
  binary?: boolean
  /** True when the Python reference code produced this frame (not a hand-written probe or a Node stand-in). */
  fromReference: boolean
}

interface ConnectionInfo { conn: string, client: string }
interface FileInfo { file: string, server: string, connections: ConnectionInfo[] }

/** The folder holding the corpus: the `.jsonl` transcripts and `connections.json`. */
export const wireDir = join(import.meta.dirname, '..', 'fixtures', 'ufo-wire')

const files = JSON.parse(readFileSync(join(wireDir, 'connections.json'), 'utf8')) as FileInfo[]

function loadFile (file: string): WireLine[] {
  const info = files.find((entry) => entry.file === file)
  if (info === undefined) throw new Error(`${file} is not described in connections.json`)
  return readFileSync(join(wireDir, file), 'utf8').trim().split('\n').map((text) => {
    const line = JSON.parse(text) as Omit<WireLine, 'file' | 'fromReference'>
    const client = info.connections.find((c) => c.conn === line.conn)?.client ?? ''
    const fromReference = line.dir === 'server->client'
      ? info.server.startsWith('python-')
      : client.startsWith('python-ufo-device') || client.startsWith('python-galaxy')
    return { ...line, file, fromReference }
  })
}

/** Every line of every transcript, file by file in name order. */
export const corpus: readonly WireLine[] = readdirSync(wireDir)
  .filter((name) => name.endsWith('.jsonl'))
  .sort()
  .flatMap(loadFile)

/** The lines of one transcript. */
export function transcript (file: string): WireLine[] {
  const lines = corpus.filter((entry) => entry.file === file)
  if (lines.length === 0) throw new Error(`no transcript ${file}`)
  return lines
}

/** One line by file and sequence number. */
export function line (file: string, seq: number): WireLine {
  const found = corpus.find((entry) => entry.file === file && entry.seq === seq)
  if (found === undefined) throw new Error(`no line ${seq} in ${file}`)
  return found
}

/** The frame as it travelled: compact JSON for a parsed frame, the raw text otherwise. */
export function wireText (entry: WireLine): string {
  return typeof entry.frame === 'string' ? entry.frame : JSON.stringify(entry.frame)
}

/** A frame of the corpus as an object (throws for a non-JSON frame). */
export function frameObject (entry: WireLine): Record<string, any> {
  if (typeof entry.frame !== 'object' || entry.frame === null) throw new Error(`line ${entry.seq} of ${entry.file} is not an object`)
  return entry.frame as Record<string, any>
}

/** `file#seq`, for messages and sets. */
export function key (entry: WireLine): string {
  return `${entry.file}#${entry.seq}`
}

/**
 * The frames the reference rejected while parsing (s2: missing status, not JSON, unknown type). Every other
 * frame of the corpus, but the binary one of s7, is a frame the reference accepted.
 */
export const REFERENCE_PARSE_REJECTIONS: ReadonlySet<string> = new Set([
  's2-error-matrix.jsonl#7', 's2-error-matrix.jsonl#8', 's2-error-matrix.jsonl#23', 's2-error-matrix.jsonl#25',
  's2-error-matrix.jsonl#27'
])
