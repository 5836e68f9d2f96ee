import { Writable } from 'node:stream'
import { createLogger } from '@threadwork/logger'
import { describe, expect, it } from 'vitest'
import { accessLogger, logRequest } from './request-log.js'

/** The service logger @threadwork/logger makes (its redaction, wildcard paths included), writing into `lines`. */
function serviceLogger(level = 'info') {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line)
      done()
    },
  })
  const log = createLogger({ service: 'api', level, destination: stream })
  return { log, lines }
}

const withoutTime = (line: string) => line.replace(/"time":"[^"]*",/, '')
const settle = () => new Promise((r) => setImmediate(r))

describe('logRequest', () => {
  it('writes the line the service logger itself writes for the same fields', async () => {
    const { log, lines } = serviceLogger()
    const start = performance.now()
    logRequest(log, 'req_1', 'POST', '/v1/threads/thread_a1/runs/run_b2', 202, start)
    await settle()
    const written = JSON.parse(lines[0]!) as { ms: number }
    log.info(
      { requestId: 'req_1', threadId: 'thread_a1', runId: 'run_b2', method: 'POST', path: '/v1/threads/thread_a1/runs/run_b2', status: 202, ms: written.ms },
      'request',
    )
    await settle()
    expect(lines).toHaveLength(2)
    expect(withoutTime(lines[0]!)).toBe(withoutTime(lines[1]!))
    expect(written).toMatchObject({
      level: 30,
      service: 'api',
      name: 'api',
      requestId: 'req_1',
      threadId: 'thread_a1',
      runId: 'run_b2',
      status: 202,
      msg: 'request',
    })
  })

  it('leaves the service logger redacting', async () => {
    const { log, lines } = serviceLogger()
    logRequest(log, 'req_1', 'GET', '/v1/threads/thread_a1', 200, performance.now())
    log.info({ apiKey: 'sk-secret', headers: { authorization: 'Bearer sk-secret' }, endpoint: { signing_secret: 'whsec_x' } }, 'other')
    await settle()
    expect(lines[1]).not.toContain('sk-secret')
    expect(lines[1]).not.toContain('whsec_x')
    expect(JSON.parse(lines[1]!)).toMatchObject({ apiKey: '[redacted]', headers: { authorization: '[redacted]' }, endpoint: { signing_secret: '[redacted]' } })
  })

  it("follows the service logger's level, set after the first line too", async () => {
    const { log, lines } = serviceLogger('info')
    logRequest(log, 'req_1', 'GET', '/v1/threads/thread_a1', 200, performance.now())
    log.level = 'warn'
    logRequest(log, 'req_2', 'GET', '/v1/threads/thread_a1', 200, performance.now())
    logRequest(log, 'req_3', 'GET', '/v1/threads/thread_a1', 500, performance.now())
    log.level = 'debug'
    logRequest(log, 'req_4', 'GET', '/healthz', 200, performance.now())
    await settle()
    expect(lines.map((l) => JSON.parse(l) as { requestId: string; level: number; msg: string })).toMatchObject([
      { requestId: 'req_1', level: 30, msg: 'request' },
      { requestId: 'req_3', level: 40, msg: 'request failed' },
      { requestId: 'req_4', level: 20, msg: 'request' },
    ])
    expect(accessLogger(log)).toBe(accessLogger(log))
  })
})
