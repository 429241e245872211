import type { DecodedServerMessage } from '@aip/protocol'

/*
 * The server's HEARTBEAT `ok` (the answer to a client HEARTBEAT, and the registration confirmation) is the most
 * frequent frame an idle fleet gets: its text is written from a template around its two fresh values instead of
 * by `JSON.stringify`. The bytes are the encoder's, field for field (a test holds them equal).
 */

const HEAD = '{"type":"heartbeat","status":"ok","user_request":null,"agent_name":null,"process_name":null,"root_name":null,' +
  '"actions":null,"messages":null,"error":null,"session_id":null,"task_name":null,"timestamp":"'
const MIDDLE = '","response_id":"'
const TAIL = '","result":null}'

/**
 * The wire text of a HEARTBEAT `ok` built by `buildServerHeartbeat()` with no session id: its timestamp and uuid
 * hold only characters JSON writes as they are (digits, letters, `-`, `:`, `.`, `+`).
 */
export function heartbeatText (message: DecodedServerMessage): string {
  return HEAD + (message.timestamp as string) + MIDDLE + (message.response_id as string) + TAIL
}
