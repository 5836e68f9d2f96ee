import { APIError } from 'openai'
import { describe, expect, it, vi } from 'vitest'
import { UpstreamError } from './upstream-errors.js'
import { backoffDelay, withUpstreamRetries } from './upstream-retries.js'

const status = (code: number, headers: Record<string, string> = {}) => APIError.generate(code, { error: { message: `e${code}` } }, undefined, new Headers(headers))

describe('withUpstreamRetries', () => {
  it('retries retryable failures then succeeds', async () => {
    const fn = vi.fn<(attempt: number) => Promise<string>>()
    fn.mockRejectedValueOnce(status(503)).mockRejectedValueOnce(status(429)).mockResolvedValueOnce('ok')
    const onRetry = vi.fn()
    await expect(withUpstreamRetries(fn, { baseDelayMs: 1, onRetry })).resolves.toBe('ok')
    expect(fn.mock.calls.map((c) => c[0])).toEqual([1, 2, 3])
    expect(onRetry).toHaveBeenCalledTimes(2)
    expect(onRetry.mock.calls[1]?.[0]).toMatchObject({ attempt: 2, failure: { code: 'rate_limit_exceeded' } })
  })

  it('throws UpstreamError after the last attempt', async () => {
    const fn = vi.fn(async () => {
      throw status(500)
    })
    const err = await withUpstreamRetries(fn, { maxAttempts: 3, baseDelayMs: 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UpstreamError)
    expect(err).toMatchObject({ code: 'server_error', attempts: 3, retryable: true })
    expect(fn).toHaveBeenCalledTimes(3)
  })

  it('does not retry a non-retryable failure', async () => {
    const fn = vi.fn(async () => {
      throw status(400)
    })
    await expect(withUpstreamRetries(fn)).rejects.toMatchObject({ name: 'UpstreamError', code: 'invalid_prompt', attempts: 1 })
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('honours retry-after (capped at maxDelayMs)', async () => {
    const onRetry = vi.fn()
    const fn = vi.fn<() => Promise<string>>().mockRejectedValueOnce(status(429, { 'retry-after-ms': '30' })).mockResolvedValueOnce('ok')
    const started = Date.now()
    await withUpstreamRetries(fn, { onRetry, random: () => 0 })
    expect(onRetry.mock.calls[0]?.[0].delayMs).toBe(30)
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
    expect(backoffDelay(1, 60_000, { baseDelayMs: 500, maxDelayMs: 20_000, random: () => 1 })).toBe(20_000)
  })

  it('uses full jitter exponential backoff', () => {
    const opts = { baseDelayMs: 500, maxDelayMs: 20_000 }
    expect(backoffDelay(1, null, { ...opts, random: () => 1 })).toBe(500)
    expect(backoffDelay(3, null, { ...opts, random: () => 1 })).toBe(2000)
    expect(backoffDelay(3, null, { ...opts, random: () => 0.5 })).toBe(1000)
    expect(backoffDelay(10, null, { ...opts, random: () => 1 })).toBe(20_000)
    expect(backoffDelay(10, null, { ...opts, random: () => 0 })).toBe(0)
  })

  it('aborts during a sleep with the signal reason', async () => {
    const controller = new AbortController()
    const reason = new Error('run cancelled')
    const fn = vi.fn(async () => {
      throw status(429, { 'retry-after': '10' })
    })
    const pending = withUpstreamRetries(fn, { signal: controller.signal, onRetry: () => controller.abort(reason) })
    await expect(pending).rejects.toBe(reason)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('an already-aborted signal never calls fn', async () => {
    const fn = vi.fn(async () => 'x')
    await expect(withUpstreamRetries(fn, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(fn).not.toHaveBeenCalled()
  })

  it('a throwing onRetry does not break retries', async () => {
    const fn = vi.fn<() => Promise<string>>().mockRejectedValueOnce(status(502)).mockResolvedValueOnce('ok')
    await expect(
      withUpstreamRetries(fn, {
        baseDelayMs: 1,
        onRetry: () => {
          throw new Error('logger down')
        },
      }),
    ).resolves.toBe('ok')
  })
})
