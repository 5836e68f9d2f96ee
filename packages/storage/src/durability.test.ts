import { describe, expect, it } from 'vitest'
import { detectDurability, waitAof } from './durability.js'
import type { RedisClient } from './scripts.js'

/** A stand-in for one Redis node: INFO, CONFIG GET appendfsync, and a recorder for `call`. */
function fakeNode(version: string, aof: boolean, fsync: string | Error, waitReply: [number, number] = [1, 0]) {
  const calls: string[][] = []
  const node = {
    info: async () => `# Server\r\nredis_version:${version}\r\n# Persistence\r\naof_enabled:${aof ? 1 : 0}\r\n`,
    config: async () => {
      if (fsync instanceof Error) throw fsync
      return ['appendfsync', fsync]
    },
    call: async (...args: string[]) => {
      calls.push(args)
      return waitReply
    },
  }
  return { node: node as unknown as RedisClient, calls }
}

describe('detectDurability', () => {
  it('uses WAITAOF on Redis >= 7.2 with AOF on', async () => {
    expect(await detectDurability(fakeNode('7.2.4', true, 'everysec').node)).toEqual({ mode: 'waitaof', version: '7.2.4', appendfsync: 'everysec' })
    expect((await detectDurability(fakeNode('8.0.1', true, 'always').node)).mode).toBe('waitaof')
  })
  it('relies on appendfsync always below 7.2, and warns about everysec or no AOF', async () => {
    expect((await detectDurability(fakeNode('7.0.15', true, 'always').node)).mode).toBe('fsync-always')
    expect((await detectDurability(fakeNode('7.0.15', true, 'everysec').node)).mode).toBe('everysec')
    expect((await detectDurability(fakeNode('7.4.0', false, 'always').node)).mode).toBe('none')
    // CONFIG denied (managed Redis): assume the default, everysec.
    expect((await detectDurability(fakeNode('7.0.15', true, new Error('NOPERM')).node)).mode).toBe('everysec')
  })
})

describe('waitAof', () => {
  it('sends WAITAOF 1 0 <timeout> and reports whether the local AOF confirmed', async () => {
    const ok = fakeNode('7.2.4', true, 'everysec', [1, 0])
    expect(await waitAof(ok.node, 750)).toBe(true)
    expect(ok.calls).toEqual([['WAITAOF', '1', '0', '750']])
    expect(await waitAof(fakeNode('7.2.4', true, 'everysec', [0, 0]).node, 750)).toBe(false)
  })
})
