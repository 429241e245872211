import { CliError, ExitCode, parse, type Command, type Io } from './cli.js'
import { clients } from './commands/clients.js'
import { info, task } from './commands/constellation.js'
import { device } from './commands/device.js'
import { serve } from './commands/serve.js'

/** Every command of the `aip` tool. */
export const COMMANDS: readonly Command[] = [serve, device, task, info, clients]

export const USAGE = `Usage: aip <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n')}

Run "aip <command> --help" for a command's options. Results go to stdout, progress to stderr.`

/** Runs the `aip` tool with `argv` (without the node and script paths); resolves with the exit code. */
export async function main (argv: readonly string[], io: Io): Promise<ExitCode> {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${USAGE}\n`)
    return name === undefined ? ExitCode.Usage : ExitCode.Ok
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (command === undefined) {
    io.stderr(`aip: unknown command "${name}"\n\n${USAGE}\n`)
    return ExitCode.Usage
  }
  try {
    const values = parse(command, args)
    if (values.help === true) {
      io.stdout(`${command.summary}\n\n${command.usage}\n`)
      return ExitCode.Ok
    }
    return await command.run(values, io)
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr(`aip ${name}: ${err.message}\n`)
      return err.exitCode
    }
    io.stderr(`aip ${name}: unexpected error: ${(err as Error).stack ?? String(err)}\n`)
    return ExitCode.Internal
  }
}
