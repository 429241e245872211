import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** One captured frame of the reference corpus. */
export interface WireLine {
  file: string
  seq: number
  conn: string
  dir: 'client->server' | 'server->client'
  /** The parsed JSON frame, or the raw text of a frame that was not JSON. */
  frame: unknown
  binary?: boolean
  /** True when the Python reference code produced this frame (not a hand-written probe or a Node stand-in). */
  fromReference: boolean
}

interface ConnectionInfo { conn: string, client: string }
interface FileInfo { file: string, server: string, connections: ConnectionInfo[] }

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

/** Every line of every transcript, file by file. */
export const corpus: WireLine[] = readdirSync(wireDir)
  .filter((name) => name.endsWith('.jsonl'))
  .sort()
  .flatMap(loadFile)

/** The lines of one transcript. */
export function transcript (file: string): WireLine[] {
  return corpus.filter((line) => line.file === file)
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
export function frameObject (entry: WireLine): Record<string, unknown> {
  if (typeof entry.frame !== 'object' || entry.frame === null) throw new Error(`line ${entry.seq} is not an object`)
  return entry.frame as Record<string, unknown>
}

/**
 * The frames the reference rejected while parsing (s2: missing status, not JSON, unknown type; the binary frame
 * of s7 never reached the parser). Everything else in the corpus is a frame the reference accepted.
 */
export const REFERENCE_PARSE_REJECTIONS = new Set([
  's2-error-matrix.jsonl#7', 's2-error-matrix.jsonl#8', 's2-error-matrix.jsonl#23', 's2-error-matrix.jsonl#25',
  's2-error-matrix.jsonl#27'
])

export function key (entry: WireLine): string {
  return `${entry.file}#${entry.seq}`
}
