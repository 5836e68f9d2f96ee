// Fixtures shared by the `pnpm start` tests (test/infra/*.test.ts for scripts/lib/*): temp dirs,
// free ports, fake TCP servers, stand-in services, captured output, a raw Redis command.
import { mkdtempSync, rmSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

export const tempDir = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `tw-${label}-`))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export const freePort = async () => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A TCP server on a free port that answers each connection with `reply` (or stays silent). */
export const fakeServer = async (reply: string | null) => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    if (reply !== null) socket.once('data', () => socket.write(reply))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return (server.address() as AddressInfo).port
}

export const devRedis = () => {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  return { host: url.hostname, port: Number(url.port || 6379) }
}

/**
 * A stand-in service: prints what it saw, exits on SIGTERM (after `termDelayMs`), or ignores it,
 * or exits by itself after `exitAfterMs` with `exitCode`.
 */
export const fakeService = (opts: { ignoreTerm?: boolean; exitAfterMs?: number; exitCode?: number } = {}) => `
const name = process.argv[2] ?? process.env.SERVICE_NAME ?? 'svc'
process.on('SIGTERM', () => {
  ${opts.ignoreTerm ? "console.log('ignoring SIGTERM')" : "console.log('got SIGTERM'); process.exit(0)"}
})
console.log('ready REDIS_URL=' + process.env.REDIS_URL + ' FROM_DOTENV=' + process.env.FROM_DOTENV + ' PRESET=' + process.env.PRESET)
console.error('a line on stderr')
console.log('pid ' + process.pid)
${opts.exitAfterMs !== undefined ? `setTimeout(() => { console.log('exiting'); process.exit(${opts.exitCode ?? 0}) }, ${opts.exitAfterMs})` : ''}
setInterval(() => {}, 1000)
`

export const captureOutput = () => {
  const chunks: { text: string; stream: 'stdout' | 'stderr' }[] = []
  return {
    write: (text: string, stream: 'stdout' | 'stderr') => void chunks.push({ text, stream }),
    text: () => chunks.map((c) => c.text).join(''),
    lines: (stream?: 'stdout' | 'stderr') =>
      chunks
        .filter((c) => !stream || c.stream === stream)
        .map((c) => c.text)
        .join('')
        .split('\n')
        .filter(Boolean),
  }
}

/** Minimal RESP client for assertions (inline command, first reply chunk as text). */
export function redisCommand(port: number, args: string[]) {
  return new Promise<string>((resolve, reject) => {
    const socket = net.createConnection({ host: '127.0.0.1', port }, () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    })
    socket.once('data', (d) => {
      resolve(d.toString())
      socket.destroy()
    })
    socket.once('error', reject)
  })
}
