import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { HonoAdapter } from '@bull-board/hono'
import { serveStatic } from '@hono/node-server/serve-static'
import type { Queue } from 'bullmq'
import { Hono } from 'hono'
import type { RedisClient } from '@threadwork/storage'
import { loginHandlers, requireAdmin } from './admin-auth.js'
import { createAdminSessions } from './admin-sessions.js'
import { redactJobData } from './redact.js'

export interface AdminOptions {
  /** `ADMIN_TOKEN`; the admin routes exist only when it is set. */
  token: string
  /** Every queue to show: all drain shards and all webhook delivery shards. */
  queues: readonly Queue[]
  /** Where sessions and the sign-in throttle live (`<prefix>:admin-session:*`). */
  redis: RedisClient
  prefix: string
  /** `TRUST_PROXY` (admin-auth.ts). */
  trustProxy?: boolean
}

/** Where the app mounts these routes; bull-board needs the full path for its links and assets. */
export const ADMIN_BASE = '/admin'
export const QUEUES_PATH = `${ADMIN_BASE}/queues`

/**
 * `/admin/queues`: the bull-board dashboard over every queue, behind `ADMIN_TOKEN`
 * (research/queue-webhooks.md §3). Job data, return values and progress go through
 * `redactJobData`; retry, clean and the other write actions stay on (an operator needs them).
 */
export function adminRoutes(opts: AdminOptions) {
  const serverAdapter = new HonoAdapter(serveStatic)
  serverAdapter.setBasePath(QUEUES_PATH)
  const adapters = opts.queues.map((q) => {
    const adapter = new BullMQAdapter(q, { allowRetries: true, description: describe(q.name) })
    adapter.setFormatter('data', (data) => redactJobData(data))
    adapter.setFormatter('returnValue', (value) => redactJobData(value))
    adapter.setFormatter('progress', (value) => redactJobData(value))
    return adapter
  })
  createBullBoard({ queues: adapters, serverAdapter, options: { uiConfig: { boardTitle: 'Threadwork queues' } } })

  const authOptions = { token: opts.token, sessions: createAdminSessions(opts.redis, opts.prefix), trustProxy: opts.trustProxy }
  const auth = loginHandlers(authOptions, ADMIN_BASE, QUEUES_PATH)
  const guard = requireAdmin(authOptions, auth.loginPath)
  const app = new Hono()
  app.get('/login', auth.page)
  app.post('/login', auth.submit)
  app.post('/logout', auth.logout)
  // Hono's `/queues/*` does not match `/queues` itself: guard both (research §8).
  app.use('/queues', guard)
  app.use('/queues/*', guard)
  app.route('/queues', serverAdapter.registerPlugin())
  return app
}

function describe(name: string): string {
  if (name.startsWith('drain-')) return 'The reconciler of this shard (its schedule); thread drains are wake-up stream entries, not jobs (services/worker README).'
  if (name.startsWith('webhooks-')) return 'Webhook deliveries: one job per event and target, retried on the Standard Webhooks schedule.'
  return ''
}
