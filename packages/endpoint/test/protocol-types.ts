export { buildHeartbeat, buildServerHeartbeat } from '@aip/protocol'
export type { AnyMessage } from '../src/protocol/index.js'
