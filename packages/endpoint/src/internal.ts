/**
 * `@aip/endpoint/internal`: building blocks the sibling AIP packages share. Not covered by semver: names and
 * signatures may change in any release. Applications use the package root.
 */
export { childLogger, logsAt } from './logger.js'
export { ConnectErrorConstructor } from './errors.js'
export { truncateReason } from './ws-transport.js'
export { timeoutArgument } from './options.js'
export { rechunk, sendBinary, sendFile, type TransferLink } from './protocol/transfer-send.js'
export { runIncoming, runOutgoing } from './protocol/middleware.js'
export { Waiters, type WaiterKind, type WaitOptions } from './protocol/waiters.js'
export {
  TransferReassembler, md5Hex, type TransferSink, type TransferLimits
} from './protocol/transfer-receive.js'
