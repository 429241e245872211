import { test } from 'tap'
import { formatFigures, runCodecBench } from '../bench/codec.js'

// The benchmark is measured by `pnpm bench`; this only keeps it from rotting (no timing is asserted).
test('the codec benchmark runs on the reference corpus and reports every operation', async (t) => {
  const figures = runCodecBench({ passes: 1, rounds: 1 })
  t.same(figures.map((f) => f.name), ['decodeClientMessage', 'decodeServerMessage', 'encodeClientMessage', 'encodeServerMessage'])
  for (const figure of figures) {
    t.ok(figure.messagesPerSecond > 0 && Number.isFinite(figure.costRatio), figure.name)
  }
  t.match(formatFigures(figures), /^\| operation \|/)
})
