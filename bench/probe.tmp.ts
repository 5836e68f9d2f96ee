import { spawn } from 'node:child_process'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { register } from 'node:module'
register('./lua-text-hooks.mjs', import.meta.url)
const { startApiServer, startServiceProcess, uniquePrefix } = await import('@threadwork/test-utils')
const { forkFakeUpstream } = await import('./fake-upstream-process.js')
const OpenAI = (await import('openai')).default
const upstream = await forkFakeUpstream()
const api = await startApiServer({ upstreamBaseURL: upstream.baseURL, prefix: uniquePrefix('probe') })
const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
const waiting = new Map<string, () => void>()
const receiver: Server = createServer((req, res) => {
  let body = ''
  req.on('data', (c) => (body += c))
  req.on('end', () => { res.writeHead(200).end(); const e = JSON.parse(body); if (e.type.startsWith('thread.turn.')) { console.log('recv', performance.now().toFixed(2)); waiting.get(e.data.turn.id)?.() } })
})
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
await upstream.respond({ kind: 'text', text: 'ok' })
const common = { REDIS_PREFIX: api.prefix }
const ps = [await startServiceProcess('worker', { ...common, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x', WORKER_CONCURRENCY: '200' }),
 await startServiceProcess('webhooks', { ...common, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' }, { readyMessage: 'webhook dispatcher ready' })]
const assistant = await client.beta.assistants.create({ model: 'fake-model' })
const post = async (threadId: string) => {
  const t0 = performance.now()
  const res = await fetch(`${api.baseURL}/threads/${threadId}/turns`, { method: 'POST', headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ assistant_id: assistant.id, content: 'hi', callback_url: callbackUrl }) })
  const turn = (await res.json()) as { id: string }
  const t1 = performance.now()
  await new Promise<void>((r) => waiting.set(turn.id, r))
  return [t1 - t0, performance.now() - t0]
}
for (let i = 0; i < 50; i++) await post((await client.beta.threads.create()).id)
const th = (await client.beta.threads.create()).id
const mon = spawn('redis-cli', ['monitor'], { stdio: ['ignore', 'pipe', 'ignore'] })
let out = ''
mon.stdout.on('data', (c) => (out += c))
await new Promise((r) => setTimeout(r, 300))
console.log('start', performance.now().toFixed(2))
console.log(await post(th))
await new Promise((r) => setTimeout(r, 300))
mon.kill()
const fs = await import('node:fs')
fs.writeFileSync('/tmp/monitor.txt', out)
for (const p of ps) p.kill('SIGTERM')
await Promise.all(ps.map((p) => p.exited))
await api.close(); await upstream.close(); receiver.close()
process.exit(0)
