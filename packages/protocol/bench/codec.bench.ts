import { cpus } from 'node:os'
import { formatFigures, runCodecBench } from './codec.js'

// pnpm bench [--quick]: codec throughput on the reference corpus, next to bare JSON.parse / JSON.stringify.
const quick = process.argv.includes('--quick')
const figures = runCodecBench(quick ? { passes: 20, rounds: 3 } : { passes: 400, rounds: 5 })
process.stdout.write(`# @aip/protocol codec, Node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}\n\n`)
process.stdout.write(`${formatFigures(figures)}\n\n`)
for (const figure of figures) process.stdout.write(`${JSON.stringify(figure)}\n`)
