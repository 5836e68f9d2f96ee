/**
 * What to throw once `signal` is aborted: its reason when that is an Error (so a cancel and an
 * expiry stay distinguishable), else a standard `AbortError`.
 */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason : new DOMException('The operation was aborted.', 'AbortError')
}
