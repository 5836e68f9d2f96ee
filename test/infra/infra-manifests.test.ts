// Static and small behavioural checks of infra/ outside Kubernetes (redis.conf, compose, the image):
// the properties that break production when they drift (persistence, eviction policy, probes,
// non-root). infra/k8s has its own file: infra-k8s.test.ts.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { parse } from 'yaml'
import { embeddedRedisArgs } from '../../scripts/lib/embedded-redis.mjs'

const repo = resolve(import.meta.dirname, '../..')
const infra = join(repo, 'infra')
const read = (...p: string[]) => readFileSync(join(...p), 'utf8')

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Doc = any

/** `redis.conf` directives as name → value (last one wins, as in Redis). */
const parseRedisConf = (text: string) => {
  const conf: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const [name, ...rest] = line.split(/\s+/)
    conf[(name as string).toLowerCase()] = rest.join(' ')
  }
  return conf
}

// ---------- redis.conf ----------

describe('infra/redis.conf', () => {
  const text = read(infra, 'redis.conf')
  const conf = parseRedisConf(text)

  it('persists with AOF, fsync every second, into /data', () => {
    expect(conf.appendonly).toBe('yes')
    expect(conf.appendfsync).toBe('everysec')
    expect(conf.dir).toBe('/data')
    expect(conf.save).toBe('""')
  })

  it('never evicts (the only policy correct for BullMQ)', () => {
    expect(conf['maxmemory-policy']).toBe('noeviction')
  })

  it('turns keyspace notifications off and documents protected mode', () => {
    expect(conf['notify-keyspace-events']).toBe('""')
    expect(conf['protected-mode']).toBeDefined()
    expect(text).toMatch(/#.*[Pp]rotected mode/)
  })

  it('explains the durability story: WAITAOF on >= 7.2, appendfsync always before', () => {
    expect(text).toMatch(/#.*WAITAOF/)
    expect(text).toMatch(/#.*7\.2/)
    expect(text).toMatch(/#.*appendfsync always/)
  })

  it('matches the embedded Redis that `pnpm start` runs', () => {
    const args = embeddedRedisArgs({ port: 6379, dir: '/d' })
    const arg = (name: string) => args[args.indexOf(`--${name}`) + 1]
    for (const name of ['appendonly', 'maxmemory-policy']) expect(arg(name)).toBe(conf[name])
    // redis.conf relies on WAITAOF (Redis >= 7.2) over `everysec`; the embedded server is whatever
    // redis-server is on PATH (7.0 on Debian bookworm, no WAITAOF), so it takes the rule redis.conf
    // documents for older servers: fsync every write.
    expect(conf.appendfsync).toBe('everysec')
    expect(arg('appendfsync')).toBe('always')
  })
})

// ---------- docker-compose.yml ----------

describe('infra/docker-compose.yml', () => {
  const compose: Doc = parse(read(infra, 'docker-compose.yml'), { merge: true })
  const services = compose.services as Record<string, Doc>
  const app = ['api', 'worker', 'webhooks'] as const

  it('has redis, api, worker, webhooks and sandbox', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'redis', 'sandbox', 'webhooks', 'worker'])
  })

  it('sandbox: its own image target, token shared with the worker, no host port, bwrap-capable', () => {
    const sb = services.sandbox
    expect(sb.build.target).toBe('sandbox')
    expect(sb.environment.SERVICE).toBe('sandbox')
    expect(sb.environment.REDIS_URL).toBe('redis://redis:6379')
    expect(sb.environment).toHaveProperty('SANDBOX_TOKEN')
    expect(services.worker.environment).toHaveProperty('SANDBOX_TOKEN')
    // The sandbox host never needs the upstream key.
    expect(sb.environment).not.toHaveProperty('UPSTREAM_API_KEY')
    expect(sb.ports).toBeUndefined()
    expect(new URL(sb.environment.SANDBOX_ADVERTISE_URL).hostname).toBe('sandbox')
    expect(sb.security_opt).toEqual(expect.arrayContaining(['seccomp=unconfined', 'systempaths=unconfined']))
    expect(sb.depends_on.redis.condition).toBe('service_healthy')
  })

  it('lets the worker scale (--scale worker=N): no container_name, no host ports, long stop grace', () => {
    expect(services.worker.container_name).toBeUndefined()
    expect(services.worker.ports).toBeUndefined()
    expect(services.worker.stop_grace_period).toBe('60s')
    // The worker hands back unfinished runs itself before Docker's SIGKILL.
    expect(Number(services.worker.environment.SHUTDOWN_GRACE_SECONDS)).toBeLessThan(60)
  })

  it('runs Redis 7.4 with the repo redis.conf and a named data volume, healthchecked with PING', () => {
    const redis = services.redis
    expect(redis.image).toBe('redis:7.4')
    const volumes = redis.volumes as string[]
    const confMount = volumes.find((v) => v.startsWith('./redis.conf:'))
    expect(confMount).toBeDefined()
    const confPath = (confMount as string).split(':')[1]
    expect(redis.command).toContain(confPath) // the server is started with the mounted file
    expect(existsSync(join(infra, 'redis.conf'))).toBe(true)
    const dataMount = volumes.find((v) => v.endsWith(':/data'))
    expect(dataMount).toBeDefined()
    const volumeName = (dataMount as string).split(':')[0] as string
    expect(volumeName).not.toMatch(/^[./]/) // named volume, not a bind mount
    expect(Object.keys(compose.volumes)).toContain(volumeName)
    expect(JSON.stringify(redis.healthcheck.test)).toContain('redis-cli ping')
  })

  it('publishes Redis on the host loopback only (it has no password)', () => {
    for (const p of services.redis.ports ?? []) expect(String(p)).toMatch(/^127\.0\.0\.1:/)
  })

  it.each(app)('%s: shared image, REDIS_URL to the redis service, waits for healthy Redis, restarts', (name) => {
    const svc = services[name]
    expect(svc.environment.REDIS_URL).toBe('redis://redis:6379')
    expect(svc.environment.SERVICE).toBe(name)
    for (const key of ['API_KEYS', 'UPSTREAM_BASE_URL', 'UPSTREAM_API_KEY', 'ADMIN_TOKEN']) {
      expect(svc.environment).toHaveProperty(key) // passed through from the host env / --env-file
    }
    expect(svc.depends_on.redis.condition).toBe('service_healthy')
    expect(svc.restart).toBe('unless-stopped')
    expect(svc.build.dockerfile).toBe('infra/Dockerfile')
    expect(existsSync(join(infra, svc.build.context, svc.build.dockerfile))).toBe(true)
  })

  it('exposes the api on 8080', () => {
    expect((services.api.ports as string[]).some((p) => String(p).endsWith(':8080'))).toBe(true)
    expect(services.api.environment.PORT).toBe('8080')
  })
})

// ---------- Dockerfile ----------

describe('infra/Dockerfile', () => {
  const text = read(infra, 'Dockerfile')
  const instructions = text
    .replace(/\\\n(\s*#.*\n)*/g, ' ') // join continuation lines (comments inside them are dropped)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  const named = (op: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${op} `))

  it('is multi-stage, ending on node:20-bookworm-slim', () => {
    const froms = named('FROM')
    expect(froms.length).toBeGreaterThanOrEqual(2)
    expect(froms.at(-1)).toMatch(/^FROM node:20-bookworm-slim\b/)
  })

  it('installs the pinned pnpm and builds the services with turbo', () => {
    const pkg = JSON.parse(read(repo, 'package.json'))
    expect(pkg.packageManager).toBe('pnpm@10.34.8')
    expect(text).toContain('npm i -g pnpm@10.34.8')
    expect(text).toMatch(/turbo run build --filter=\.\/services\/\*/)
    expect(text).toMatch(/--frozen-lockfile/)
  })

  it('runs as a non-root user in the final stage', () => {
    const lastFrom = instructions.findLastIndex((l) => l.startsWith('FROM '))
    const users = instructions.slice(lastFrom).filter((l) => l.startsWith('USER '))
    expect(users.length).toBeGreaterThan(0)
    const user = (users.at(-1) as string).slice(5).trim().split(':')[0]
    expect(user).not.toMatch(/^(root|0)$/)
  })

  it('has a HEALTHCHECK and selects the service through its entry point', () => {
    // One per image: the runtime's and the sandbox target's.
    expect(named('HEALTHCHECK')).toHaveLength(2)
    expect(named('ENTRYPOINT')[0]).toContain('docker-entrypoint.sh')
    expect(read(infra, 'docker-entrypoint.sh')).toContain('exec node "/app/services/$SERVICE/dist/index.js"')
  })

  it('copies only files that exist', () => {
    for (const copy of named('COPY').filter((l) => !l.includes('--from='))) {
      const parts = copy
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith('--'))
      for (const src of parts.slice(0, -1)) if (src !== '.') expect(existsSync(join(repo, src)), src).toBe(true)
    }
  })

  it('has a sandbox stage with bubblewrap, python3 and the pinned requirements, non-root', () => {
    const start = instructions.findIndex((l) => /^FROM \S+ AS sandbox$/i.test(l))
    expect(start).toBeGreaterThan(0)
    const end = instructions.findIndex((l, i) => i > start && l.startsWith('FROM '))
    const stage = instructions.slice(start, end).join('\n')
    expect(stage).toMatch(/apt-get install .*bubblewrap/)
    expect(stage).toMatch(/apt-get install .*python3-venv/)
    expect(stage).toContain('COPY services/sandbox/python/requirements.txt')
    expect(stage).toMatch(/pip install .*-r \/opt\/sandbox-requirements.txt/)
    expect(stage).toContain('SANDBOX_VENV=/opt/sandbox-venv')
    expect(stage).toMatch(/^USER 1000:1000$/m)
  })

  it('has a .dockerignore at the repo root that keeps local state out of the context', () => {
    const ignore = read(repo, '.dockerignore')
      .split('\n')
      .map((l) => l.trim())
    for (const pattern of ['node_modules', 'dist', '.data', '.git', '.turbo']) {
      expect(
        ignore.some((l) => l === pattern || l === `**/${pattern}`),
        pattern,
      ).toBe(true)
    }
  })
})

describe('infra/docker-entrypoint.sh and healthcheck.mjs', () => {
  it('rejects an unknown service with exit 64', () => {
    const r = spawnSync('sh', [join(infra, 'docker-entrypoint.sh')], { env: { PATH: process.env.PATH, SERVICE: 'bogus' }, encoding: 'utf8' })
    expect(r.status).toBe(64)
    expect(r.stderr).toContain('SERVICE must be api, worker, webhooks or sandbox')
  })

  // Async spawn: the fake api server below runs in this process and must keep answering.
  const healthcheck = (env: Record<string, string>) =>
    new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [join(infra, 'healthcheck.mjs')], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' })
      child.on('exit', (code) => done(code))
    })

  it('reports the api healthy only when /healthz answers 2xx; others always healthy', async () => {
    let status = 200
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 404
      res.end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())))
    const port = String((server.address() as AddressInfo).port)

    expect(await healthcheck({ SERVICE: 'api', PORT: port })).toBe(0)
    status = 503
    expect(await healthcheck({ SERVICE: 'api', PORT: port })).toBe(1)
    expect(await healthcheck({ SERVICE: 'worker', PORT: port })).toBe(0)
    server.close()
    expect(await healthcheck({ SERVICE: 'api', PORT: port })).toBe(1)
  })
})

describe('infra/README.md', () => {
  it('has a Scaling out section covering compose, KEDA, Redis Cluster and persistence', () => {
    const readme = read(infra, 'README.md')
    const section = readme.slice(readme.indexOf('## Scaling out'))
    expect(readme).toContain('## Scaling out')
    for (const topic of ['--scale worker=', 'REDIS_URL', 'KEDA', 'Redis Cluster', 'hash', 'AOF', 'noeviction', 'WAITAOF']) {
      expect(section, topic).toContain(topic)
    }
  })
})
