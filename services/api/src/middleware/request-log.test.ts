import { Writable } from 'node:stream'
import { createLogger } from '@threadwork/logger'
import { describe, expect, it, vi } from 'vitest'
import { accessLogger, idsInPath, logRequest } from './request-log.js'

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

describe('idsInPath', () => {
  // The reading it replaced (a global regex's matchAll), kept as the reference.
  const FIELDS: Record<string, string> = {
    thread: 'threadId',
    run: 'runId',
    turn: 'turnId',
    msg: 'messageId',
    asst: 'assistantId',
    step: 'stepId',
    whe: 'webhookEndpointId',
  }
  const byRegex = (path: string) => {
    const ids: Record<string, string> = {}
    for (const m of path.matchAll(/\/(thread|run|turn|msg|asst|step|whe)_([A-Za-z0-9]+)(?=\/|$)/g)) ids[FIELDS[m[1]!]!] = `${m[1]}_${m[2]}`
    return ids
  }

  it('reads the ids the regex read, in the same order, for ordinary and odd paths', () => {
    const paths = [
      '/v1/threads/thread_a1/runs/run_b2/steps/step_c3',
      '/v1/threads/thread_a1/messages/msg_x',
      '/v1/assistants/asst_1',
      '/v1/webhook_endpoints/whe_Z9',
      '/v1/threads/thread_a1/turns/turn_t',
      '/v1/threads/thread_a1/runs/run_b2/thread_c',
      '/v1/threads/thread_/runs/run_b-2/x/run_ok',
      '/v1/threads/thread_a_b/threadx_a/xthread_a/run_a/',
      'thread_a/run_b',
      '//thread_a//msg_b',
      '/v1/files/file_abc/content',
      '/v1/threads/thread_ä/constructor_x/__proto___x/toString_y',
      '',
      '/',
      '/_a/run_/run__/run_1_',
    ]
    for (const path of paths) {
      const ids = idsInPath(path)
      expect(ids, path).toEqual(byRegex(path))
      expect(Object.keys(ids), path).toEqual(Object.keys(byRegex(path)))
    }
    const alphabet = ['/', '_', 'a', 'Z', '9', '-', 'thread', 'run', 'msg', 'whe', 'step', 'turn', 'asst', 'x']
    for (let n = 0; n < 5000; n++) {
      let path = ''
      for (let i = 0; i < 12; i++) path += alphabet[Math.floor(Math.random() * alphabet.length)]
      expect(Object.entries(idsInPath(path)), path).toEqual(Object.entries(byRegex(path)))
    }
  })

  it('reads them without a regex: no matchAll per request (issue 14, a cost cut)', async () => {
    const { log } = serviceLogger()
    const matchAll = vi.spyOn(String.prototype, 'matchAll')
    try {
      idsInPath('/v1/threads/thread_a1/runs/run_b2')
      logRequest(log, 'req_1', 'GET', '/v1/threads/thread_a1/runs/run_b2', 200, performance.now())
      expect(matchAll).not.toHaveBeenCalled()
    } finally {
      matchAll.mockRestore()
    }
  })
})
