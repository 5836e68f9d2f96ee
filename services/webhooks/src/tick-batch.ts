// Calls made in one turn of the event loop sent as one: in @threadwork/webhook-delivery (the attempt's records use it).
export { tickBatch } from '@threadwork/webhook-delivery'
