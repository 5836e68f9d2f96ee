import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createProviderRouter } from '@threadwork/model-client'
import { type FakeUpstream, startFakeUpstream } from '@threadwork/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeProviders } from './provider-probe.js'

let upstream: FakeUpstream
let noModels: Server
let noModelsURL: string
let closedURL: string

beforeAll(async () => {
  upstream = await startFakeUpstream()
  // A server without GET /models (404), like some gateways: reachable all the same.
  noModels = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not here"}}'))
  await new Promise<void>((r) => noModels.listen(0, '127.0.0.1', r))
  noModelsURL = `http://127.0.0.1:${(noModels.address() as AddressInfo).port}/v1`
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  closedURL = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/v1`
  await new Promise((r) => probe.close(r))
})
afterAll(async () => {
  await upstream?.close()
  noModels?.close()
})

const recorder = () => {
  const lines: { obj: Record<string, unknown>; msg: string }[] = []
  return { lines, log: { warn: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }) } as never }
}

describe('probeProviders', () => {
  it('warns once per unreachable provider, naming its URL and the refused connection, never its key', async () => {
    const router = createProviderRouter({
      defaultProvider: { baseURL: closedURL, apiKey: 'sk-upstream-secret-0123456789' },
      routes: [{ match: 'ok-*', baseURL: upstream.baseURL }, { match: 'gw-*', baseURL: noModelsURL, anyModel: true }],
    })
    const { lines, log } = recorder()
    const unreachable = await probeProviders(router, log)
    expect(unreachable).toHaveLength(1)
    expect(lines).toHaveLength(1)
    expect(lines[0]!.msg).toMatch(/unreachable.*UPSTREAM_BASE_URL/)
    expect(lines[0]!.obj.baseURL).toBe(closedURL)
    expect(lines[0]!.obj.cause).toMatch(/ECONNREFUSED/)
    expect(JSON.stringify(lines)).not.toContain('sk-upstream-secret')
  })

  it('says nothing when every provider answers', async () => {
    const router = createProviderRouter({ defaultProvider: { baseURL: upstream.baseURL }, routes: [{ match: 'gw-*', baseURL: noModelsURL, anyModel: true }] })
    const { lines, log } = recorder()
    expect(await probeProviders(router, log)).toEqual([])
    expect(lines).toEqual([])
  })
})
