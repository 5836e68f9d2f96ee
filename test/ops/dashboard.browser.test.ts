/**
 * The queue dashboard and the API docs in a real browser (Debian's headless Chromium through
 * playwright-core): sign in with ADMIN_TOKEN, see every shard's drain and webhook queue with its
 * counts after some runs, open a job the worker failed, see its data redacted, retry it, and find
 * it waiting again. Screenshots go to test-artifacts/.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type ApiServer, type FakeUpstream, type ServiceProcess, startApiServer, startFakeUpstream, startServiceProcess } from '@threadwork/test-utils'
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
let browser: Browser
let page: Page

beforeAll(async () => {
  if (!chromium.ok) return
  mkdirSync(ARTIFACTS, { recursive: true })
  upstream = await startFakeUpstream()
  api = await startApiServer({ upstreamBaseURL: upstream.baseURL, shards: 2, operations: { adminToken: ADMIN_TOKEN } })
  worker = await startServiceProcess('worker', { REDIS_PREFIX: api.prefix, REDIS_SHARDS: '2', UPSTREAM_BASE_URL: upstream.baseURL, UPSTREAM_API_KEY: 'x' })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  worker?.kill('SIGKILL')
  await api?.close()
  await upstream?.close()
})

describe.skipIf(!chromium.ok)('queue dashboard in Chromium', () => {
  it('signs in, shows every queue with counts, opens a failed job (data redacted) and retries it', async () => {
    // Some work: completed drains on both shards.
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
    // A job the worker cannot process (an unknown name, as an older or newer release may leave
    // behind) fails on the real drain queue, with content in its data that must not be shown.
    const queue = api.queues.queues[1]!
    const bad = await queue.add('legacy-job' as never, { threadId: 'thread_legacy', content: 'TOP SECRET CONTENT' } as never)
    await expect.poll(async () => queue.getJobState(bad.id!), { timeout: 10_000 }).toBe('failed')
    const counts = await Promise.all(api.queues.queues.map((q) => q.getJobCounts('completed', 'failed')))
    // The worker must not pick the retried job up: the test checks it waits.
    worker!.kill('SIGKILL')
    await worker!.exited
    worker = undefined

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
    const totalCompleted = counts.reduce((n, c) => n + (c.completed ?? 0), 0)
    expect(totalCompleted).toBeGreaterThanOrEqual(6)
    await page
      .getByText(/completed/i)
      .first()
      .waitFor()
    // A status tab and its count are separate elements: only the rendered text (innerText) has a
    // space between them, as a person reads it.
    // biome-ignore lint/performance/useDomNodeTextContent: see above
    const shown = async () => (await page.locator('body').innerText()).replace(/\s+/g, ' ')
    await expect.poll(shown).toMatch(new RegExp(`COMPLETED ${totalCompleted}\\b`, 'i'))
    await expect.poll(shown).toMatch(/FAILED 1\b/i)
    await page.screenshot({ path: `${ARTIFACTS}dashboard-overview.png`, fullPage: true })

    // The failed job, opened from its queue's Failed tab.
    await page.goto(`${api.url}/admin/queues/queue/${encodeURIComponent(queue.name)}?status=failed`)
    await page.getByText('unknown job legacy-job').first().waitFor()
    await page
      .getByRole('link', { name: /legacy-job/ })
      .first()
      .click()
    await page.waitForURL(new RegExp(`/queue/${encodeURIComponent(queue.name)}/${bad.id}`))
    await page.getByText('unknown job legacy-job').first().waitFor()
    await page
      .getByRole('tab', { name: 'Data' })
      .or(page.getByRole('button', { name: 'Data' }))
      .first()
      .click()
    await page.getByText('thread_legacy').first().waitFor()
    await page.getByText('[redacted]').first().waitFor()
    expect(await page.content()).not.toContain('TOP SECRET CONTENT')
    await page.screenshot({ path: `${ARTIFACTS}dashboard-failed-job.png`, fullPage: true })

    // Retry it from the job's actions, and confirm ("Are you sure that you want to retry this job?").
    await page.locator('ul[class*="jobActions"] button:has(svg.lucide-refresh-cw)').first().click()
    await page.getByText('want to retry this job').waitFor()
    await page.screenshot({ path: `${ARTIFACTS}dashboard-retry-confirm.png` })
    await page.getByRole('button', { name: 'Confirm' }).click()
    await expect.poll(async () => queue.getJobState(bad.id!), { timeout: 10_000 }).toBe('waiting')
    await page.goto(`${api.url}/admin/queues/queue/${encodeURIComponent(queue.name)}?status=waiting`)
    await page.getByText('legacy-job').first().waitFor()
    await page.screenshot({ path: `${ARTIFACTS}dashboard-retried-job.png`, fullPage: true })
  }, 90_000)

  it('renders the API docs from /openapi.json without any network beyond the API', async () => {
    const outside: string[] = []
    page.on('request', (r) => {
      if (!r.url().startsWith(api.url) && !r.url().startsWith('data:')) outside.push(r.url())
    })
    await page.goto(`${api.url}/docs`)
    await page.getByText('Threadwork').first().waitFor()
    await page.getByText('/v1/threads/{thread_id}/runs').first().waitFor()
    await page.screenshot({ path: `${ARTIFACTS}api-docs.png` })
    expect(outside).toEqual([])
  }, 60_000)
})
