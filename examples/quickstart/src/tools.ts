import { createHash } from 'node:crypto'
import type { ToolSet } from '@aip/device-client'

// The tools of the three demo devices. They simulate real work with short waits, so that the steps that run in
// parallel visibly overlap.

function pause (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('cancelled')) }, { once: true })
  })
}

/** A Windows desktop: opens applications, takes screenshots, types text. */
export const desktopTools: ToolSet = {
  open_app: {
    description: 'Opens an application window.',
    handler: async (params, ctx) => { await pause(250, ctx.signal); return { opened: params.name, window: 1 } }
  },
  screenshot: {
    description: 'Captures the screen.',
    toolType: 'data_collection',
    handler: async (_params, ctx) => { await pause(150, ctx.signal); return { width: 1920, height: 1080, format: 'png' } }
  },
  type_text: {
    description: 'Types text into the active window.',
    handler: async (params, ctx) => { await pause(200, ctx.signal); return { typed: String(params.text).length } }
  }
}

/** A Linux build machine: runs the test suite, fingerprints the build artifact. */
export const buildTools: ToolSet = {
  run_tests: {
    description: 'Runs the project test suite.',
    handler: async (params, ctx) => { await pause(600, ctx.signal); return { suite: params.suite, passed: 128, failed: 0 } }
  },
  checksum: {
    description: 'The sha256 of the build artifact.',
    toolType: 'data_collection',
    handler: async (params, ctx) => {
      await pause(100, ctx.signal)
      return { artifact: params.artifact, sha256: createHash('sha256').update(String(params.artifact)).digest('hex').slice(0, 16) }
    }
  }
}

/** A laptop: reads the calendar, sends notifications. */
export const laptopTools: ToolSet = {
  read_calendar: {
    description: 'Lists today\'s meetings.',
    toolType: 'data_collection',
    handler: async (_params, ctx) => { await pause(300, ctx.signal); return { meetings: ['release review 15:00'] } }
  },
  send_notification: {
    description: 'Shows a notification.',
    handler: async (params, ctx) => { await pause(100, ctx.signal); return { shown: params.title } }
  }
}
