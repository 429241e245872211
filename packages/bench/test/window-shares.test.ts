import { test } from 'tap'
import { collectorAndCompiler } from '../src/callgrind-profile.js'

// A counted window reports V8's collector and compilers apart: their self cost is summed from the native functions
// callgrind names in the window's profile, calls left out; generated code and the rest count for neither.

test('the collector\'s and the compilers\' self cost are summed from a window profile', async (t) => {
  const profile = [
    'version: 1', 'positions: line', 'events: Ir', 'fl=(1) ???',
    'fn=(1) v8::internal::Scavenger::ScavengePage(v8::internal::MemoryChunk*)', '0 300',
    'fn=(2) v8::internal::MarkCompactCollector::ProcessMarkingWorklist(unsigned long)', '0 200', '+1 5',
    'fn=(3) v8::internal::compiler::GraphReducer::ReduceTop()', '0 70',
    'cfn=(1)', 'calls=1 0', '0 300',
    'fn=(4) v8::internal::Compiler::Compile(v8::internal::Isolate*)', '0 30',
    'fn=(5) 0x0000000000001010', '0 1000',
    'fn=(6) Builtins_LoadIC', '0 50',
    ''
  ].join('\n')
  t.same(collectorAndCompiler(profile), { collector: 505, compiler: 100 }, 'the call line (300 under the compiler) counts for its callee only')
})
