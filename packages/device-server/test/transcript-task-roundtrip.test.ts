import { test } from 'tap'
import { ROUND_TRIP_TRANSCRIPTS, replayTaskRoundTrip, twoStepAgent } from '@aip/test-support'
import { adapters } from './helpers/adapters.js'

// S1 and appx: the client side of the captured conversation, replayed against our server through each adapter,
// gets the reference's answers (volatile values aside).

for (const [name, adapter] of Object.entries(adapters)) {
  for (const file of ROUND_TRIP_TRANSCRIPTS) {
    test(`${file} through ${name}: registration, device info, task, commands and TASK_END as the reference answers them`, async (t) => {
      await replayTaskRoundTrip(t, await adapter(t, { agent: twoStepAgent }), file)
    })
  }
}
