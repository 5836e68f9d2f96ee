import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createProviderRouter } from './provider-router.js'
import { compileModelMatcher, loadProviderRoutes } from './provider-routes.js'

const writeTemp = async (content: string) => {
  const dir = await mkdtemp(join(tmpdir(), 'tw-routes-'))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'providers.json')
  await writeFile(file, content)
  return file
}

describe('createProviderRouter', () => {
  const router = createProviderRouter({
    defaultProvider: { baseURL: 'https://api.openai.example/v1', apiKey: 'sk-default-secret' },
    routes: [
      { match: 'deepseek-*', baseURL: 'https://api.deepseek.example/v1', apiKeyEnv: 'DS_KEY' },
      { name: 'ollama', match: 'llama?', baseURL: 'http://127.0.0.1:11434/v1', models: ['qwen2.5:7b'] },
      { match: 'deepseek-chat', baseURL: 'https://never.example/v1' },
    ],
    env: { DS_KEY: 'sk-ds-secret' },
    timeoutMs: 5_000,
  })

  it('first matching route wins, else the default', () => {
    expect(router.resolve('deepseek-chat')?.provider.name).toBe('deepseek-*')
    expect(router.resolve('llama3')?.provider.name).toBe('ollama')
    expect(router.resolve('qwen2.5:7b')?.provider.name).toBe('ollama')
    expect(router.resolve('llama31')?.provider.name).toBe('default')
    expect(router.resolve('gpt-4o')?.provider.baseURL).toBe('https://api.openai.example/v1')
  })

  it('returns null when nothing matches and there is no default', () => {
    const r = createProviderRouter({ routes: [{ match: 'a', baseURL: 'http://localhost:1/v1' }] })
    expect(r.resolve('b')).toBeNull()
    expect(createProviderRouter().resolve('anything')).toBeNull()
  })

  it('creates one client per provider, lazily, with our retry/timeout settings', () => {
    const a = router.resolve('deepseek-chat')
    const b = router.resolve('deepseek-reasoner')
    expect(a?.client).toBe(b?.client)
    expect(a?.client).not.toBe(router.resolve('gpt-4o')?.client)
    expect(a?.client.maxRetries).toBe(0)
    expect(a?.client.timeout).toBe(5_000)
    expect(a?.client.apiKey).toBe('sk-ds-secret')
    expect(router.resolve('llama3')?.client.apiKey).toBe('no-key')
  })

  it('never exposes keys through a provider', () => {
    for (const p of router.providers()) {
      expect(JSON.stringify(p)).not.toMatch(/secret/)
      expect(inspect(p)).not.toMatch(/secret/)
      expect(Object.keys(p.toJSON())).toEqual(['name', 'baseURL'])
    }
    const withCreds = createProviderRouter({ defaultProvider: { baseURL: 'https://u:p4ss@host.example/v1' } })
    expect(JSON.stringify(withCreds.providers())).toBe('[{"name":"default","baseURL":"https://host.example/v1"}]')
  })

  it('fails fast on a missing apiKeyEnv and duplicate names', () => {
    expect(() => createProviderRouter({ routes: [{ match: 'x', baseURL: 'http://h/v1', apiKeyEnv: 'NOPE_KEY' }], env: {} })).toThrow(
      'Provider "x": environment variable NOPE_KEY (apiKeyEnv) is not set.',
    )
    expect(() =>
      createProviderRouter({ routes: [{ match: 'x', baseURL: 'http://h/v1' }, { match: 'x', baseURL: 'http://i/v1' }] }),
    ).toThrow(/Duplicate provider name "x"/)
  })

  it('validates routes given in code', () => {
    expect(() => createProviderRouter({ routes: [{ match: '', baseURL: 'nope' }] })).toThrow(/^Invalid provider routes: routes\[0\]\.match: .*; routes\[0\]\.baseURL: must be an http\(s\) URL$/)
  })
})

describe('compileModelMatcher', () => {
  it('matches globs and exact names, escaping regex characters', () => {
    expect(compileModelMatcher('qwen*')('qwen2.5-72b')).toBe(true)
    expect(compileModelMatcher('qwen*')('xqwen')).toBe(false)
    expect(compileModelMatcher('a.b')('axb')).toBe(false)
    expect(compileModelMatcher('a.b')('a.b')).toBe(true)
    expect(compileModelMatcher('*:7b')('llama3:7b')).toBe(true)
    expect(compileModelMatcher('gpt-4o')('gpt-4o-mini')).toBe(false)
  })
})

describe('loadProviderRoutes', () => {
  it('reads {routes: [...]} and a bare array', async () => {
    const route = { match: 'm*', baseURL: 'http://localhost:8000/v1', apiKey: 'k' }
    expect(await loadProviderRoutes(await writeTemp(JSON.stringify({ routes: [route] })))).toEqual([route])
    expect(await loadProviderRoutes(await writeTemp(JSON.stringify([route])))).toEqual([route])
  })

  it('a bad file throws one line naming the file and each problem', async () => {
    const file = await writeTemp(JSON.stringify({ routes: [{ match: 'a', baseURL: 'http://h/v1' }, { match: 'b', baseUrl: 'http://h' }] }))
    const err = await loadProviderRoutes(file).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toContain(file)
    expect((err as Error).message).toMatch(/routes\[1\]\.baseURL: .*routes\[1\]: Unrecognized key: "baseUrl"/)
    expect((err as Error).message).not.toContain('\n')
  })

  it('reports both keys set, invalid JSON and a missing file', async () => {
    const both = await writeTemp(JSON.stringify([{ match: 'a', baseURL: 'http://h/v1', apiKey: 'k', apiKeyEnv: 'K' }]))
    await expect(loadProviderRoutes(both)).rejects.toThrow(/routes\[0\]: set apiKey or apiKeyEnv, not both/)
    const bad = await writeTemp('{ nope')
    await expect(loadProviderRoutes(bad)).rejects.toThrow(`Providers file ${bad} is not valid JSON`)
    await expect(loadProviderRoutes('/nonexistent/providers.json')).rejects.toThrow('Cannot read providers file /nonexistent/providers.json: ENOENT')
  })
})
