import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'tap'

test('npm start: the constellation drives the device through the MCP server tools, and it exits 0', async (t) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'main.ts')], {
    cwd: join(import.meta.dirname, '..'), encoding: 'utf8', timeout: 60_000
  })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /mcp +inventory is up with 3 tools/)
  t.match(run.stdout, /storeroom reports MCP servers \{"inventory":\{"transport":"stdio","status":"up","tools":3,"error":null\}\}/)
  t.match(run.stdout, /tool keys: inventory\.stock, inventory\.receive, inventory\.ship/)
  t.match(run.stdout, /receive a delivery and ship an order: completed\n +receive -> success "cable: 20"\n +inventory\.ship -> success "cable: 5"\n +stock -> success \{"items":\{"cable":5,"adapter":3\}\}/)
  t.match(run.stdout, /ship more adapters than there are: failed \(only 3 adapter in stock, 5 asked\)/)
  t.match(run.stdout, /stock -> skipped/)
  t.match(run.stdout, /done +1 failed command/)
})
