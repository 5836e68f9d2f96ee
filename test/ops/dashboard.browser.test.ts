/**
 * The queue dashboard and the API docs in a real browser (Debian's headless Chromium through
 * playwright-core): sign in with ADMIN_TOKEN, see every shard's drain and webhook queue with its
 * counts after some turns, open a webhook delivery that failed (its receiver was down for every
 * attempt), see job data redacted, retry the delivery and watch it arrive. Screenshots go to
 * test-artifacts/.
 */
import { mkdirSync } from 'node:fs'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { type ApiServer, type FakeUpstream, type ServiceProcess, startApiServer, startFakeUpstream, startServiceProcess } from '@threadwork/test-utils'
import { Queue } from 'bullmq'
import OpenAI from 'openai'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureChromium, launchChromium } from './chromium.js'

const ADMIN_TOKEN = 'admin-browser-token-0123456789'
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))
const chromium = ensureChromium()
if (!chromium.ok) console.warn(`Skipping the browser tests: ${chromium.reason}`)

let upstream: FakeUpstream
let api: ApiServer
let worker: ServiceProcess | undefined
let webhooks: ServiceProcess | undefined
let browser: Browser
let page: Page
let webhookQueues: Queue[] = []

/** A webhook receiver that answers 503 until `up` is set, and keeps the event ids it accepted. */
const receiver = { server: undefined as Server | undefined, url: '', up: false, accepted: [] as string[] }

beforeAll(async () => {
  if (!chromium.ok) return
  mkdirSync(ARTIFACTS, { recursive: true })
  receiver.server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      if (receiver.up) receiver.accepted.push(JSON.parse(body).id)
      res.writeHead(receiver.up ? 200 : 503).end()
    })
  })
  await new Promise<void>((r) => receiver.server!.listen(0, '127.0.0.1', r))
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hook`

  upstream = await startFakeUpstream()
  api = await startApiServer({ upstreamBaseURL: upstream.baseURL, shards: 2, operations: { adminToken: ADMIN_TOKEN } })
  const shared = { REDIS_PREFIX: api.prefix, REDIS_SHARDS: '2' }
  worker = await startServiceProcess('worker', { ...shared, UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x' })
  webhooks = await startServiceProcess(
    'webhooks',
    { ...shared, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32', WEBHOOK_RETRY_SCHEDULE_MS: '0,50,50', WEBHOOK_POLL_MS: '200' },
    { readyMessage: 'webhook dispatcher ready' },
  )
  webhookQueues = [0, 1].map((s) => new Queue(`webhooks-{s${s}}`, { connection: api.redis, prefix: api.prefix }))
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  worker?.kill('SIGKILL')
  webhooks?.kill('SIGKILL')
  await Promise.all(webhookQueues.map((q) => q.close()))
  await api?.close()
  await upstream?.close()
  receiver.server?.close()
})

async function findFailedDelivery() {
  for (const queue of webhookQueues) {
    const [job] = await queue.getFailed()
    if (job) return { queue, job }
  }
  return undefined
}

describe.skipIf(!chromium.ok)('queue dashboard in Chromium', () => {
  it('signs in, shows every queue with counts, opens a failed delivery (data redacted), retries it and it arrives', async () => {
    // Some work on both shards: runs, and a turn whose callback receiver is down for all three attempts.
    const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
    const assistant = await client.beta.assistants.create({ model: 'fake-model' })
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.beta.threads.createAndRunPoll(
          { assistant_id: assistant.id, thread: { messages: [{ role: 'user', content: `private question ${i}` }] } },
          { pollIntervalMs: 100 },
        ),
      ),
    )
    expect(runs.every((r) => r.status === 'completed')).toBe(true)
    const res = await fetch(`${api.baseURL}/turns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: assistant.id, content: 'TOP SECRET CONTENT', callback_url: receiver.url }),
    })
    expect(res.status).toBe(202)
    const turn = (await res.json()) as { id: string; thread_id: string }
    await expect.poll(findFailedDelivery, { timeout: 30_000 }).toBeDefined()
    const { queue, job } = (await findFailedDelivery())!
    expect(job.data).toMatchObject({ thread: turn.thread_id, exhausted: true })
    expect(job.failedReason).toMatch(/exhausted: http_503/)
    const counts = await Promise.all([...api.queues.queues, ...webhookQueues].map((q) => q.getJobCounts('completed', 'failed')))
    const totalCompleted = counts.reduce((n, c) => n + (c.completed ?? 0), 0)
    const totalFailed = counts.reduce((n, c) => n + (c.failed ?? 0), 0)
    // Runs and turns no longer leave drain jobs (issue 14: drains are wake-up stream entries), so
    // completed jobs are what the queues hold now (the dashboard must show exactly that); the
    // failed delivery is the one that must show.
    expect(totalFailed).toBe(1)

    // Not signed in: the login form.
    await page.goto(`${api.url}/admin/queues`)
    expect(new URL(page.url()).pathname).toBe('/admin/login')
    await page.fill('#token', 'not-the-token-000000000')
    await page.click('button[type=submit]')
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong token')
    await page.fill('#token', ADMIN_TOKEN)
    await page.click('button[type=submit]')
    await page.waitForURL(`${api.url}/admin/queues`)

    // Every queue, with its counts.
    for (const name of ['drain-{s0}', 'drain-{s1}', 'webhooks-{s0}', 'webhooks-{s1}']) await page.getByText(name, { exact: true }).first().waitFor()
    await page
      .getByText(/completed/i)
      .first()
      .waitFor()
    // A status tab and its count are separate elements: only the rendered text (innerText) has a
    // space between them, as a person reads it.
    // biome-ignore lint/performance/useDomNodeTextContent: see above
    const shown = async () => (await page.locator('body').innerText()).replace(/\s+/g, ' ')
    await expect.poll(shown).toMatch(/FAILED 1\b/i)
    // The overview lists a status only when some queue holds jobs in it.
    if (totalCompleted > 0) await expect.poll(shown).toMatch(new RegExp(`COMPLETED ${totalCompleted}\\b`, 'i'))
    else expect(await shown()).not.toMatch(/COMPLETED \d/i)
    await page.screenshot({ path: `${ARTIFACTS}dashboard-overview.png`, fullPage: true })

    // The failed delivery, opened from its queue's Failed tab.
    const queuePath = `${api.url}/admin/queues/queue/${encodeURIComponent(queue.name)}`
    await page.goto(`${queuePath}?status=failed`)
    await page.getByText('delivery exhausted: http_503').first().waitFor()
    await page
      .getByRole('link', { name: job.id!, exact: true })
      .first()
      .click()
    await page.waitForURL(new RegExp(`/queue/${encodeURIComponent(queue.name)}/${encodeURIComponent(job.id!).replace(/\./g, '\\.')}`))
    await page
      .getByRole('tab', { name: 'Data' })
      .or(page.getByRole('button', { name: 'Data' }))
      .first()
      .click()
    await page.getByText(turn.thread_id).first().waitFor()
    expect(await page.content()).not.toContain('TOP SECRET CONTENT')
    await page.screenshot({ path: `${ARTIFACTS}dashboard-failed-delivery.png`, fullPage: true })

    // The receiver is back. Retry from the job's actions, and confirm ("Are you sure that you want to retry this job?").
    receiver.up = true
    await page.locator('ul[class*="jobActions"] button:has(svg.lucide-refresh-cw)').first().click()
    await page.getByText('want to retry this job').waitFor()
    await page.screenshot({ path: `${ARTIFACTS}dashboard-retry-confirm.png` })
    await page.getByRole('button', { name: 'Confirm' }).click()
    await expect.poll(async () => queue.getJobState(job.id!), { timeout: 30_000 }).toBe('completed')
    // The turn's callback arrived, once, with the event the failed attempts carried.
    const evt = job.data.evt as string
    expect(receiver.accepted).toEqual([evt])
    const got = await fetch(`${api.baseURL}/threads/${turn.thread_id}/turns/${turn.id}`, { headers: { authorization: `Bearer ${api.apiKey}` } })
    expect(((await got.json()) as { status: string }).status).toBe('completed')
    await page.goto(`${queuePath}?status=completed`)
    await page.getByText(evt).first().waitFor()
    await page.screenshot({ path: `${ARTIFACTS}dashboard-retried-delivery.png`, fullPage: true })
  }, 180_000)

  it('redacts message content in job data it does not know', async () => {
    // A job with content in its data, as an older or newer release may leave behind, on a real queue.
    const queue = api.queues.queues[1]!
    const bad = await queue.add('legacy-job' as never, { threadId: 'thread_legacy', content: 'TOP SECRET CONTENT' } as never)
    await page.goto(`${api.url}/admin/queues/queue/${encodeURIComponent(queue.name)}/${bad.id}`)
    await page
      .getByRole('tab', { name: 'Data' })
      .or(page.getByRole('button', { name: 'Data' }))
      .first()
      .click()
    await page.getByText('thread_legacy').first().waitFor()
    await page.getByText('[redacted]').first().waitFor()
    expect(await page.content()).not.toContain('TOP SECRET CONTENT')
  }, 180_000)

  it('renders the API docs from /openapi.json without any network beyond the API', async () => {
    const outside: string[] = []
    page.on('request', (r) => {
      if (!r.url().startsWith(api.url) && !r.url().startsWith('data:')) outside.push(r.url())
    })
    await page.goto(`${api.url}/docs`)
    await page.getByText('Threadwork').first().waitFor()
    await page.getByText('/v1/threads/{thread_id}/runs').first().waitFor()
    await page.screenshot({ path: `${ARTIFACTS}api-docs.png` })
    // Operations grouped by resource, in the reference's order, the newer resources included.
    const groups = await page.locator('h3.opblock-tag > a.nostyle > span').allInnerTexts()
    expect(groups.slice(0, 8)).toEqual(['Assistants', 'Threads', 'Messages', 'Runs', 'Run steps', 'Files', 'Uploads', 'Vector stores'])
    expect(groups).toEqual(expect.arrayContaining(['Vector store files', 'Vector store file batches', 'Turns', 'Webhook endpoints']))

    // "Authorize" with the bearer scheme, then "Try it out" on GET /v1/assistants answers from the API.
    const client = new OpenAI({ baseURL: api.baseURL, apiKey: api.apiKey, maxRetries: 0 })
    const assistant = await client.beta.assistants.create({ model: 'fake-model', name: 'docs try-it-out' })
    await page.getByRole('button', { name: 'Authorize' }).first().click()
    await page.getByText('bearerAuth').first().waitFor()
    await page.locator('.modal-ux input').first().fill(api.apiKey)
    await page.locator('.modal-ux button.authorize').first().click()
    await page.locator('.modal-ux button.btn-done').first().click()
    const op = page.locator('#operations-Assistants-listAssistants')
    await op.locator('.opblock-summary').click()
    await op.getByText('A page of assistants.').waitFor()
    for (const status of ['400', '401', '404', '500']) await op.locator(`tr.response[data-code="${status}"]`).waitFor()
    await op.getByRole('button', { name: 'Try it out' }).click()
    await op.getByRole('button', { name: 'Execute' }).click()
    await op.locator('.live-responses-table tr.response .response-col_status').first().waitFor()
    expect((await op.locator('.live-responses-table tr.response .response-col_status').first().innerText()).trim()).toBe('200')
    await op.locator('.live-responses-table tr.response .response-col_description').getByText(assistant.id).first().waitFor()
    expect(await op.locator('.curl-command').innerText()).toContain(`Authorization: Bearer ${api.apiKey}`)
    await op.screenshot({ path: `${ARTIFACTS}api-docs-try-it-out.png` })
    expect(outside).toEqual([])
  }, 180_000)
})
