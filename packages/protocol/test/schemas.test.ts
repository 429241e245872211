import { Value } from '@sinclair/typebox/value'
import { test } from 'tap'
import {
  ChunkMetadata, decodeTransferMessage, DeviceSystemInfo, MCPToolInfo, ProtocolErrorCode
} from '../src/index.js'
import { frameObject, line } from '@aip/test-support'

test('the system_info a reference device reports is a DeviceSystemInfo', async (t) => {
  const metadata = frameObject(line('s1-task-roundtrip.jsonl', 1)).metadata as Record<string, unknown>
  t.ok(Value.Check(DeviceSystemInfo, metadata.system_info))
  t.notOk(Value.Check(DeviceSystemInfo, { ...(metadata.system_info as object), cpu_count: 'two' }))
})

test('MCPToolInfo describes a tool as list_tools answers it', async (t) => {
  t.ok(Value.Check(MCPToolInfo, {
    tool_key: 'stub.click_input',
    tool_name: 'click_input',
    title: null,
    namespace: 'stub',
    tool_type: 'action',
    description: 'Click a control',
    input_schema: { type: 'object' },
    output_schema: null,
    meta: null,
    annotations: null
  }))
  t.notOk(Value.Check(MCPToolInfo, { tool_name: 'x' }), 'tool_key, namespace and tool_type are required')
})

test('transfer control frames decode by type and keep our transfer_id', async (t) => {
  const start = decodeTransferMessage('{"type":"file_transfer_start","filename":"a.png","size":10,"chunk_size":4,"total_chunks":3,"transfer_id":"t1"}')
  t.ok(start.ok)
  if (start.ok) {
    t.equal(start.value.type, 'file_transfer_start')
    t.same({ ...start.extra }, { transfer_id: 't1' })
  }
  t.ok(decodeTransferMessage('{"type":"binary_data","size":3}').ok)
  t.ok(decodeTransferMessage('{"type":"file_transfer_complete","filename":"a.png","total_chunks":3,"checksum":"abc"}').ok)
  const bad = decodeTransferMessage('{"type":"file_transfer_start","filename":"a.png","size":-1,"chunk_size":4,"total_chunks":1}')
  t.notOk(bad.ok)
  if (!bad.ok) t.equal(bad.error.code, ProtocolErrorCode.INVALID_MESSAGE)
  t.ok(Value.Check(ChunkMetadata, { chunk_num: 0, chunk_size: 4, checksum: null }))
})

test('the extra fields of a transfer frame are those its own type does not declare', async (t) => {
  const chunk = decodeTransferMessage('{"type":"binary_data","size":4,"chunk_num":0,"chunk_size":4,"transfer_id":"t1"}')
  t.ok(chunk.ok)
  if (chunk.ok) t.same({ ...chunk.extra }, { chunk_num: 0, chunk_size: 4, transfer_id: 't1' })
})
