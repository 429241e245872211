import { createError } from '@fastify/error'

/**
 * One problem found while validating a frame: where it is (a JSON pointer such as `/action_results/0/status`)
 * and what is wrong there.
 */
export interface ProtocolIssue {
  readonly path: string
  readonly message: string
}

/**
 * The frame is not valid JSON (or not valid UTF-8, for a byte payload).
 */
export const InvalidJsonError = createError(
  'AIP_ERR_PROTOCOL_INVALID_JSON',
  'Frame is not valid JSON: %s',
  400,
  Error,
  false
)

/**
 * The frame is larger than the decoder's `maxBytes`.
 */
export const FrameTooLargeError = createError(
  'AIP_ERR_PROTOCOL_FRAME_TOO_LARGE',
  'Frame of %d bytes exceeds the limit of %d bytes',
  413,
  Error,
  false
)

/**
 * The frame nests arrays or objects deeper than the decoder's `maxDepth`.
 */
export const FrameTooDeepError = createError(
  'AIP_ERR_PROTOCOL_FRAME_TOO_DEEP',
  'Frame nests deeper than %d levels',
  400,
  Error,
  false
)

/**
 * The frame is valid JSON but not a valid message of the expected kind. `issues` lists every problem by path.
 */
export const InvalidMessageError = createError(
  'AIP_ERR_PROTOCOL_INVALID_MESSAGE',
  'Invalid %s: %s',
  400,
  Error,
  false
)

/**
 * An encoder was given a message that would produce a frame the reference rejects, or that JSON cannot hold.
 */
export const InvalidArgumentError = createError(
  'AIP_ERR_PROTOCOL_INVALID_ARGUMENT',
  'Invalid argument: %s',
  500,
  TypeError
)

/** Every error thrown or returned by `@aip/protocol`. */
export type ProtocolError =
  | InstanceType<typeof InvalidJsonError>
  | InstanceType<typeof FrameTooLargeError>
  | InstanceType<typeof FrameTooDeepError>
  | (InstanceType<typeof InvalidMessageError> & { readonly issues: readonly ProtocolIssue[] })
  | InstanceType<typeof InvalidArgumentError>

/** The error codes of this package, for `switch (err.code)`. */
export const ProtocolErrorCode = {
  INVALID_JSON: 'AIP_ERR_PROTOCOL_INVALID_JSON',
  FRAME_TOO_LARGE: 'AIP_ERR_PROTOCOL_FRAME_TOO_LARGE',
  FRAME_TOO_DEEP: 'AIP_ERR_PROTOCOL_FRAME_TOO_DEEP',
  INVALID_MESSAGE: 'AIP_ERR_PROTOCOL_INVALID_MESSAGE',
  INVALID_ARGUMENT: 'AIP_ERR_PROTOCOL_INVALID_ARGUMENT'
} as const

export type ProtocolErrorCode = typeof ProtocolErrorCode[keyof typeof ProtocolErrorCode]
