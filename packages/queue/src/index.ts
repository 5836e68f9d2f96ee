export { EXPIRY_BACKSTOP_GRACE_MS, createDrainQueues } from './drain-queues.js'
export type { DrainQueues, ShardQueue } from './drain-queues.js'
export type { JobCatalog, JobName } from './job-catalog.js'
