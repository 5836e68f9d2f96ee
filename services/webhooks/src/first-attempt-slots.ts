// The first attempts' in-flight slots, kept and handed on between one process's attempts: in
// @threadwork/webhook-delivery, since the worker's own callback attempts hold theirs the same way.
export { type FirstAttemptSlots, type FirstAttemptSlotsDeps, type HeldSlot, SLOT_LINGER_MS, createFirstAttemptSlots } from '@threadwork/webhook-delivery'
