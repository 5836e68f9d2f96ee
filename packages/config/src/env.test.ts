import { describe, expect, it } from 'vitest'
import { ApiEnv, EnvError, WorkerEnv, loadEnv } from './env.js'

describe('loadEnv', () => {
  it('applies defaults', () => {
    const env = loadEnv(ApiEnv, {})
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379')
    expect(env.PORT).toBe(8080)
    expect(env.API_KEYS).toBeUndefined()
  })

  it('parses API_KEYS into key → project', () => {
    const env = loadEnv(ApiEnv, { API_KEYS: 'sk-a:alpha, sk-b:beta' })
    expect(env.API_KEYS?.get('sk-a')).toBe('alpha')
    expect(env.API_KEYS?.get('sk-b')).toBe('beta')
  })

  it('refuses a key given twice, naming the entries and not the key', () => {
    for (const raw of ['sk-dup-secret:alpha,sk-b:beta,sk-dup-secret:gamma', 'sk-dup-secret:alpha, sk-dup-secret:alpha']) {
      let message = ''
      try {
        loadEnv(ApiEnv, { API_KEYS: raw })
      } catch (err) {
        message = (err as Error).message
      }
      expect(message).toMatch(/^Invalid configuration: API_KEYS .*entries 1 and [23] give the same key/)
      expect(message).not.toContain('sk-dup-secret')
    }
  })

  it('names the variable in one line and never echoes a secret', () => {
    expect(() => loadEnv(ApiEnv, { API_KEYS: 'sk-secret-value' })).toThrow(EnvError)
    try {
      loadEnv(ApiEnv, { API_KEYS: 'sk-secret-value' })
    } catch (err) {
      expect((err as Error).message).toMatch(/^Invalid configuration: API_KEYS /)
      expect((err as Error).message).not.toContain('sk-secret-value')
      expect((err as Error).message).not.toContain('\n')
    }
  })

  it('rejects a bad port and a bad concurrency', () => {
    expect(() => loadEnv(ApiEnv, { PORT: 'eighty' })).toThrow(/PORT/)
    expect(() => loadEnv(WorkerEnv, { WORKER_CONCURRENCY: '0' })).toThrow(/WORKER_CONCURRENCY/)
    expect(() => loadEnv(WorkerEnv, { REDIS_URL: 'not a url' })).toThrow(/REDIS_URL/)
  })

  it('says in words what a bad number or key prefix must be', () => {
    expect(() => loadEnv(ApiEnv, { PORT: 'abc' })).toThrow(/^Invalid configuration: PORT must be a number, got 'abc'$/)
    expect(() => loadEnv(WorkerEnv, { WORKER_CONCURRENCY: 'lots' })).toThrow(/^Invalid configuration: WORKER_CONCURRENCY must be a number, got 'lots'$/)
    expect(() => loadEnv(ApiEnv, { REDIS_PREFIX: 'a:b' })).toThrow(
      /^Invalid configuration: REDIS_PREFIX must be 1-32 characters of A-Z a-z 0-9 _ -$/,
    )
  })

  it('reads the embedding model and dimensions (unset: keyword-only search)', () => {
    expect(loadEnv(WorkerEnv, {}).EMBEDDING_MODEL).toBeUndefined()
    const env = loadEnv(ApiEnv, { EMBEDDING_MODEL: 'text-embedding-3-large', EMBEDDING_DIMENSIONS: '256' })
    expect(env).toMatchObject({ EMBEDDING_MODEL: 'text-embedding-3-large', EMBEDDING_DIMENSIONS: 256 })
    expect(() => loadEnv(WorkerEnv, { EMBEDDING_DIMENSIONS: '0' })).toThrow(/EMBEDDING_DIMENSIONS/)
    expect(() => loadEnv(WorkerEnv, { EMBEDDING_DIMENSIONS: '5000' })).toThrow(/EMBEDDING_DIMENSIONS/)
  })
})
