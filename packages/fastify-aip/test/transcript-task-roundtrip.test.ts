import { test } from 'tap'
import { ROUND_TRIP_TRANSCRIPTS, replayTaskRoundTrip, twoStepAgent } from '@aip/test-support'
import { adapters } from './helpers/adapters.js'

// S1 and appx through the plugin: the client side of the captured conversation, replayed against a plain Fastify
// app, gets the reference's answers (volatile values aside), over a listening port and through injectWS; the
// decorator reads the finished task back.

for (const [via, adapter] of Object.entries(adapters)) {
  for (const file of ROUND_TRIP_TRANSCRIPTS) {
    test(`${file} through ${via}: registration, device info, task, commands and TASK_END as the reference answers them`, async (t) => {
      await replayTaskRoundTrip(t, await adapter(t, { agent: twoStepAgent }), file, { answerServerTasks: true })
    })
  }
}
