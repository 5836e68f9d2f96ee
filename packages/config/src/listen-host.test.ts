import { describe, expect, it } from 'vitest'
import { EnvError } from './env.js'
import { apiListenHost, isLoopbackHost } from './listen-host.js'

const keys = new Map([['sk-a', 'alpha']])

describe('apiListenHost', () => {
  it('listens on loopback only without API_KEYS', () => {
    expect(apiListenHost({})).toBe('127.0.0.1')
  })

  it('listens on every interface by default once API_KEYS is set', () => {
    expect(apiListenHost({ API_KEYS: keys })).toBe('0.0.0.0')
    expect(apiListenHost({ API_KEYS: keys, HOST: '10.0.0.5' })).toBe('10.0.0.5')
  })

  it('accepts an explicit loopback HOST without API_KEYS', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2', '[::1]']) expect(apiListenHost({ HOST: host })).toBe(host)
  })

  it('refuses a non-loopback HOST without API_KEYS, in one line naming both settings', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      let err: unknown
      try {
        apiListenHost({ HOST: host })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(EnvError)
      expect((err as Error).message).toMatch(/HOST/)
      expect((err as Error).message).toMatch(/API_KEYS/)
      expect((err as Error).message).not.toContain('\n')
    }
  })
})

describe('isLoopbackHost', () => {
  it('knows loopback from the rest', () => {
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true)
    expect(isLoopbackHost('0:0:0:0:0:0:0:1')).toBe(true)
    expect(isLoopbackHost('128.0.0.1')).toBe(false)
    expect(isLoopbackHost('localhost.example.com')).toBe(false)
  })
})
