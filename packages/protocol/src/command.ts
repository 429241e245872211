import { Type, type Static } from '@sinclair/typebox'
import { ResultStatus, ToolType } from './enums.js'
import { nullable } from './nullable.js'

/**
 * One tool call inside a COMMAND's `actions`. Field order is the wire order.
 *
 * The server overwrites `call_id` with a fresh id before sending; the device echoes it in the Result.
 */
export const Command = Type.Object({
  tool_name: Type.String({ description: 'Name of the tool to execute' }),
  parameters: nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'Parameters for the tool' })),
  tool_type: ToolType,
  call_id: nullable(Type.String({ description: 'Unique identifier of this call' }))
}, { description: 'A tool call sent to a device' })
export type Command = Static<typeof Command>

/** Wire order of Command fields. */
export const COMMAND_FIELDS = ['tool_name', 'parameters', 'tool_type', 'call_id'] as const

/**
 * The outcome of one Command, in `action_results` and inside TASK_END results. Field order is the wire order.
 */
export const Result = Type.Object({
  status: ResultStatus,
  error: nullable(Type.String({ description: 'Error text when the command failed' })),
  result: Type.Optional(Type.Unknown({ description: 'Result payload' })),
  namespace: nullable(Type.String({ description: 'Namespace of the executed tool' })),
  call_id: nullable(Type.String({ description: 'The call_id of the Command this answers' }))
}, { description: 'The result of one command' })
export type Result = Static<typeof Result>

/** Wire order of Result fields. */
export const RESULT_FIELDS = ['status', 'error', 'result', 'namespace', 'call_id'] as const
