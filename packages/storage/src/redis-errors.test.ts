import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { logRedisTroubleOnce } from './redis-errors.js'

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
})
