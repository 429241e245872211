import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { wireDir } from '@aip/test-support'
import {
  decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage,
  type DecodedClientMessage, type DecodedServerMessage
} from '../src/index.js'

/** One measured operation: messages per second (median of the rounds) and its ratio to the baseline. */
export interface CodecFigure {
  name: string
  messagesPerSecond: number
  baseline: string
  baselineMessagesPerSecond: number
  /** Cost relative to the baseline: baseline rate / this rate (1.5 means 1.5x the time per message). */
  costRatio: number
}

export interface CodecBenchOptions {
  /** Passes over the corpus per round. */
  passes: number
  /** Rounds per operation; the median is reported. */
  rounds: number
}

interface Corpus {
  clientTexts: string[]
  serverTexts: string[]
  clientMessages: DecodedClientMessage[]
  serverMessages: DecodedServerMessage[]
}

/** The reference frames of the wire corpus, split by direction. */
export function loadCorpus (): Corpus {
  const dir = wireDir
  const corpus: Corpus = { clientTexts: [], serverTexts: [], clientMessages: [], serverMessages: [] }
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.jsonl'))) {
    for (const text of readFileSync(join(dir, file), 'utf8').trim().split('\n')) {
      const line = JSON.parse(text) as { dir: string, frame: unknown }
      if (typeof line.frame !== 'object') continue
      const frame = JSON.stringify(line.frame)
      if (line.dir === 'client->server') {
        const decoded = decodeClientMessage(frame)
        if (!decoded.ok) continue
        corpus.clientTexts.push(frame)
        corpus.clientMessages.push(decoded.value)
      } else {
        const decoded = decodeServerMessage(frame)
        if (!decoded.ok) continue
        corpus.serverTexts.push(frame)
        corpus.serverMessages.push(decoded.value)
      }
    }
  }
  return corpus
}

let sink: unknown

function rate<T> (items: readonly T[], work: (item: T) => unknown, { passes, rounds }: CodecBenchOptions): number {
  const rates: number[] = []
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint()
    for (let pass = 0; pass < passes; pass++) {
      for (const item of items) sink = work(item)
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    rates.push((passes * items.length) / seconds)
  }
  rates.sort((a, b) => a - b)
  return rates[Math.floor(rates.length / 2)] as number
}

/**
 * Measures decode (parse + validate + normalize) against a bare `JSON.parse`, and encode (validate + reference
 * form) against a bare `JSON.stringify`, on the same frames in the same run. Operations alternate with their
 * baseline so that machine noise hits both.
 */
export function runCodecBench (options: CodecBenchOptions): CodecFigure[] {
  const corpus = loadCorpus()
  const pairs: Array<[string, () => number, string, () => number]> = [
    ['decodeClientMessage', () => rate(corpus.clientTexts, (t) => decodeClientMessage(t), options),
      'JSON.parse', () => rate(corpus.clientTexts, (t) => JSON.parse(t), options)],
    ['decodeServerMessage', () => rate(corpus.serverTexts, (t) => decodeServerMessage(t), options),
      'JSON.parse', () => rate(corpus.serverTexts, (t) => JSON.parse(t), options)],
    ['encodeClientMessage', () => rate(corpus.clientMessages, (m) => encodeClientMessage(m), options),
      'JSON.stringify', () => rate(corpus.clientMessages, (m) => JSON.stringify(m), options)],
    ['encodeServerMessage', () => rate(corpus.serverMessages, (m) => encodeServerMessage(m), options),
      'JSON.stringify', () => rate(corpus.serverMessages, (m) => JSON.stringify(m), options)]
  ]
  const figures: CodecFigure[] = []
  for (const [name, measure, baseline, measureBaseline] of pairs) {
    // Warm both up, then measure alternately and keep the medians.
    measure()
    measureBaseline()
    const ours: number[] = []
    const theirs: number[] = []
    for (let i = 0; i < 3; i++) {
      ours.push(measure())
      theirs.push(measureBaseline())
    }
    ours.sort((a, b) => a - b)
    theirs.sort((a, b) => a - b)
    const messagesPerSecond = ours[1] as number
    const baselineMessagesPerSecond = theirs[1] as number
    figures.push({ name, messagesPerSecond, baseline, baselineMessagesPerSecond, costRatio: baselineMessagesPerSecond / messagesPerSecond })
  }
  if (sink === Symbol.for('never')) figures.length = 0
  return figures
}

/** The figures as a Markdown table. */
export function formatFigures (figures: readonly CodecFigure[]): string {
  const rows = figures.map((f) =>
    `| ${f.name} | ${Math.round(f.messagesPerSecond).toLocaleString('en-US')} | ${f.baseline} | ` +
    `${Math.round(f.baselineMessagesPerSecond).toLocaleString('en-US')} | ${f.costRatio.toFixed(2)}x |`)
  return [
    '| operation | msg/s | baseline | baseline msg/s | cost vs baseline |',
    '|---|---:|---|---:|---:|',
    ...rows
  ].join('\n')
}
