// One signed attempt and its bookkeeping, shared by both paths here (first attempts, jobs) and by
// the worker's own callback attempts: it lives in @threadwork/webhook-delivery.
export { type Attempt, type AttemptResult, type AttemptTarget, type SkipReason, createAttempt, resolveTarget } from '@threadwork/webhook-delivery'
