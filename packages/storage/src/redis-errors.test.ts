import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { isRedisConnectionError, logRedisTroubleOnce } from './redis-errors.js'

describe('logRedisTroubleOnce', () => {
  it('logs one line with the fix per outage, and one when Redis is back', () => {
    const client = new EventEmitter()
    const lines: string[] = []
    logRedisTroubleOnce(client, { warn: (_o, m) => lines.push(m), info: (_o, m) => lines.push(m) })
    for (let i = 0; i < 1000; i++) client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Redis unreachable: .*REDIS_URL.*retrying quietly$/)
    client.emit('ready')
    client.emit('error', new Error('again'))
    expect(lines).toEqual([lines[0], 'Redis reachable again', lines[0]])
  })

  it('connections sharing a logger share the outage: one line down, one line when the last is back', () => {
    const [a, b, c] = [new EventEmitter(), new EventEmitter(), new EventEmitter()]
    const lines: string[] = []
    const log = { warn: (_o: object, m: string) => lines.push(m), info: (_o: object, m: string) => lines.push(m) }
    for (const x of [a, b, c]) logRedisTroubleOnce(x, log)
    for (let i = 0; i < 50; i++) for (const x of [a, b, c]) x.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'))
    expect(lines).toHaveLength(1)
    a.emit('ready')
    b.emit('ready')
    expect(lines).toHaveLength(1)
    c.emit('ready')
    expect(lines).toEqual([lines[0], 'Redis reachable again'])
  })
})

describe('isRedisConnectionError', () => {
  it('tells socket errors from command errors', () => {
    expect(isRedisConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true)
    expect(isRedisConnectionError(new Error('Connection is closed.'))).toBe(true)
    expect(isRedisConnectionError(new Error('ERR Error running script'))).toBe(false)
    expect(isRedisConnectionError(undefined)).toBe(false)
  })
})
