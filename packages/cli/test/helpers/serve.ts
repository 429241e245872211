import { main, type Io } from '../../src/index.js'

/** `aip serve` run in this process (its `--json` start line read), and how to stop it. */
export interface ServeInProcess {
  wsUrl: string
  httpUrl: string
  /** Everything it wrote on stderr so far (its log lines). */
  stderr: string[]
  /** Stops it as the signal would; resolves with its exit code. */
  stop: (signal?: string) => Promise<number>
}

/** Runs `aip serve --port 0 --token tok --json ...args` in process, with `env` as its environment. */
export async function serveInProcess (args: string[], env: Record<string, string> = {}): Promise<ServeInProcess> {
  let stopServer!: (signal: string) => void
  let printed!: (line: string) => void
  const line = new Promise<string>((resolve) => { printed = resolve })
  const stderr: string[] = []
  const io: Io = {
    stdout: (text) => { printed(text) },
    stderr: (text) => { stderr.push(text) },
    interrupted: new Promise<string>((resolve) => { stopServer = resolve }),
    env
  }
  const exited = main(['serve', '--port', '0', '--token', 'tok', '--json', ...args], io)
  const { wsUrl, httpUrl } = JSON.parse(await line) as { wsUrl: string, httpUrl: string }
  return { wsUrl, httpUrl, stderr, stop: async (signal = 'SIGINT') => { stopServer(signal); return await exited } }
}
