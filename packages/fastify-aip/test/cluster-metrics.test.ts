import { test } from 'tap'
import { InMemoryClusterHub } from '@aip/device-server'
import { API_KEY, buildApp } from './helpers/harness.js'

const headers = { 'x-api-key': API_KEY }

test('with a cluster, /metrics shows the node id, the state of its link to the store and the live nodes', async (t) => {
  const hub = new InMemoryClusterHub()
  const a = await buildApp(t, { apiKey: API_KEY, metrics: true, cluster: hub.link('node-a') })
  await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-b') })
  await a.aip.start()
  const scrape = async (): Promise<string> => (await a.inject({ url: '/metrics', headers })).body
  let text = await scrape()
  t.match(text, /^aip_cluster_node_info\{node_id="node-a"\} 1$/m)
  t.match(text, /^aip_cluster_state\{state="ready"\} 1$/m)
  t.match(text, /^aip_cluster_state\{state="down"\} 0$/m)
  t.match(text, /^aip_cluster_nodes [12]$/m, 'the live nodes, this one included')

  hub.setAvailable(false)
  text = await scrape()
  t.match(text, /^aip_cluster_state\{state="down"\} 1$/m, 'the store is away')
  t.match(text, /^aip_cluster_state\{state="ready"\} 0$/m)
  hub.setAvailable(true)
  t.match(await scrape(), /^aip_cluster_state\{state="ready"\} 1$/m, 'back on its own')
})

test('without a cluster, /metrics has no cluster series', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, metrics: true })
  t.notMatch((await app.inject({ url: '/metrics', headers })).body, /aip_cluster_/)
})
