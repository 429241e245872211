export { main, COMMANDS, USAGE } from './main.js'
export { ExitCode, CliError, type Command, type Io } from './cli.js'
export { builtinTools, type BuiltinToolOptions } from './tools.js'
export { autoAgent, AGENTS } from './agents.js'
