// The delivery job's payload, ids and options: in @threadwork/webhook-delivery, since the worker's
// own callback attempts add a failed attempt's retry job too.
export { type DeliveryJob, GROUP, KEEP_COMPLETED, KEEP_FAILED, deliveryJobId, jobOptions } from '@threadwork/webhook-delivery'
