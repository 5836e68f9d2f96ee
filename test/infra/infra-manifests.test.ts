// Static and small behavioural checks of infra/: the properties that break production when they
// drift (persistence, eviction policy, scalability of workers, probes, non-root, autoscaling).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
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
      const parts = copy.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'))
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
    const ignore = read(repo, '.dockerignore').split('\n').map((l) => l.trim())
    for (const pattern of ['node_modules', 'dist', '.data', '.git', '.turbo']) {
      expect(ignore.some((l) => l === pattern || l === `**/${pattern}`), pattern).toBe(true)
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

// ---------- Kubernetes ----------

const k8sDir = join(infra, 'k8s')
const k8sFiles = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml'))
const docsByFile = Object.fromEntries(
  k8sFiles.map((file) => {
    const docs = parseAllDocuments(read(k8sDir, file))
    for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`)
    return [file, docs.map((d) => d.toJSON() as Doc).filter(Boolean)]
  }),
) as Record<string, Doc[]>
const kustomization = docsByFile['kustomization.yaml']?.[0]
const applied: Doc[] = (kustomization?.resources ?? []).flatMap((f: string) => docsByFile[f] ?? [])
const find = (kind: string, name: string) => applied.find((d) => d.kind === kind && d.metadata?.name === name)
const workloads = applied.filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet')

describe('infra/k8s', () => {
  it('has the expected files, and kustomization applies all but the Secret template', () => {
    for (const f of [
      'namespace.yaml',
      'configmap.yaml',
      'secret.example.yaml',
      'redis.yaml',
      'api.yaml',
      'worker.yaml',
      'webhooks.yaml',
      'worker-scaledobject.yaml',
      'kustomization.yaml',
    ]) {
      expect(k8sFiles).toContain(f)
    }
    expect(kustomization.kind).toBe('Kustomization')
    const resources = kustomization.resources as string[]
    for (const r of resources) expect(k8sFiles).toContain(r)
    // *.optional.yaml need something in the cluster first (gVisor); each says how to apply it.
    expect(resources.sort()).toEqual(
      k8sFiles.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml' && !f.endsWith('.optional.yaml')).sort(),
    )
  })

  it('puts every object in the threadwork namespace', () => {
    expect(find('Namespace', 'threadwork')).toBeDefined()
    for (const d of [...applied, ...(docsByFile['secret.example.yaml'] ?? [])]) {
      if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe('threadwork')
    }
  })

  it('has api, worker and webhooks Deployments and a Redis StatefulSet', () => {
    expect(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual([
      'Deployment/api',
      'Deployment/sandbox',
      'Deployment/webhooks',
      'Deployment/worker',
      'StatefulSet/redis',
    ])
  })

  describe.each(['api', 'worker', 'webhooks', 'redis', 'sandbox'])('%s workload', (name) => {
    const w = workloads.find((x) => x.metadata.name === name)
    const pod = w?.spec.template.spec
    const containers: Doc[] = pod?.containers ?? []

    it('selects its own pods', () => {
      expect(w.spec.template.metadata.labels).toMatchObject(w.spec.selector.matchLabels)
    })

    it('runs as non-root without privilege escalation', () => {
      expect(pod.securityContext.runAsNonRoot).toBe(true)
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0)
      for (const c of containers) {
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false)
        expect(c.securityContext?.capabilities?.drop, c.name).toContain('ALL')
      }
    })

    it('sets resource requests and a memory limit', () => {
      for (const c of containers) {
        expect(c.resources?.requests?.cpu, c.name).toBeDefined()
        expect(c.resources?.requests?.memory, c.name).toBeDefined()
        expect(c.resources?.limits?.memory, c.name).toBeDefined()
      }
    })

    it('uses the shared image and config (app services)', () => {
      if (name === 'redis' || name === 'sandbox') return
      const c = containers[0]
      expect(c.image).toBe('threadwork')
      expect(kustomization.images.map((i: Doc) => i.name)).toContain('threadwork')
      expect(c.args).toEqual([name])
      expect(c.env).toContainEqual({ name: 'SERVICE', value: name })
      const refs = (c.envFrom as Doc[]).map((e) => e.configMapRef?.name ?? e.secretRef?.name)
      expect(refs).toEqual(['threadwork-config', 'threadwork-secrets'])
      expect(find('ConfigMap', 'threadwork-config')).toBeDefined()
      expect(docsByFile['secret.example.yaml']?.[0].metadata.name).toBe('threadwork-secrets')
    })
  })

  it('api: ready on /readyz, alive on /healthz, preStop sleep shorter than the grace period', () => {
    const api = find('Deployment', 'api')
    const pod = api.spec.template.spec
    const c = pod.containers[0]
    const portNames = (c.ports as Doc[]).flatMap((p) => [p.name, p.containerPort])
    expect(c.readinessProbe.httpGet.path).toBe('/readyz')
    expect(portNames).toContain(c.readinessProbe.httpGet.port)
    expect(c.livenessProbe.httpGet.path).toBe('/healthz')
    expect(portNames).toContain(c.livenessProbe.httpGet.port)
    expect(c.ports).toContainEqual(expect.objectContaining({ containerPort: 8080 }))
    const sleep = c.lifecycle.preStop.exec.command as string[]
    expect(sleep[0]).toBe('sleep')
    const seconds = Number(sleep[1])
    // The sleep must outlast readiness detection, and leave time to drain after it.
    expect(seconds).toBeGreaterThanOrEqual(c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold)
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(seconds + 10)
  })

  it('sandbox: own image, only SANDBOX_TOKEN from the Secret, advertises its pod IP, reachable from workers only', () => {
    const sb = find('Deployment', 'sandbox')
    const pod = sb.spec.template.spec
    const c = pod.containers[0]
    expect(c.image).toBe('threadwork-sandbox')
    expect(kustomization.images.map((i: Doc) => i.name)).toContain('threadwork-sandbox')
    expect(c.args).toEqual(['sandbox'])
    const env = Object.fromEntries((c.env as Doc[]).map((e) => [e.name, e]))
    expect(env.SERVICE.value).toBe('sandbox')
    expect(env.SANDBOX_TOKEN.valueFrom.secretKeyRef).toEqual({ name: 'threadwork-secrets', key: 'SANDBOX_TOKEN' })
    expect((c.envFrom as Doc[]).some((e) => e.secretRef)).toBe(false) // not the upstream keys
    expect(docsByFile['secret.example.yaml']?.[0].stringData.SANDBOX_TOKEN).toBeDefined()
    expect(env.POD_IP.valueFrom.fieldRef.fieldPath).toBe('status.podIP')
    expect(env.SANDBOX_ADVERTISE_URL.value).toBe(`http://$(POD_IP):${env.SANDBOX_PORT.value}`)
    expect(c.readinessProbe.httpGet.path).toBe('/healthz')
    const np = find('NetworkPolicy', 'sandbox')
    expect(sb.spec.template.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels)
    expect(np.spec.ingress[0].from).toEqual([{ podSelector: { matchLabels: find('Deployment', 'worker').spec.template.metadata.labels } }])
    const gvisor = docsByFile['sandbox-gvisor.optional.yaml']?.[0]
    expect(gvisor.kind).toBe('RuntimeClass')
    expect(read(k8sDir, 'sandbox.yaml')).toContain(`runtimeClassName: ${gvisor.metadata.name}`)
  })

  it('api Service routes to the api pods', () => {
    const svc = find('Service', 'api')
    expect(find('Deployment', 'api').spec.template.metadata.labels).toMatchObject(svc.spec.selector)
  })

  it('worker: grace period covers long runs, and KEDA owns the replica count', () => {
    const worker = find('Deployment', 'worker')
    const grace = worker.spec.template.spec.terminationGracePeriodSeconds
    expect(grace).toBeGreaterThanOrEqual(120)
    const env = worker.spec.template.spec.containers[0].env as Doc[]
    const drain = Number(env.find((e) => e.name === 'SHUTDOWN_GRACE_SECONDS')?.value)
    expect(drain).toBeGreaterThan(60)
    expect(drain).toBeLessThan(grace) // the worker hands back runs before the kubelet's SIGKILL
    expect(worker.spec.replicas).toBeUndefined()
  })

  it('redis: StatefulSet with a PVC on /data, the repo redis.conf from a ConfigMap, and a Service', () => {
    const sts = find('StatefulSet', 'redis')
    const c = sts.spec.template.spec.containers[0]
    const claim = sts.spec.volumeClaimTemplates[0]
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: claim.metadata.name, mountPath: '/data' }))
    const configVolume = (sts.spec.template.spec.volumes as Doc[]).find((v) => v.configMap)
    const configMount = (c.volumeMounts as Doc[]).find((m) => m.name === configVolume.name)
    expect(c.command).toEqual(['redis-server', `${configMount.mountPath}/redis.conf`])
    const cm = find('ConfigMap', configVolume.configMap.name)
    expect(cm.data['redis.conf']).toBe(read(infra, 'redis.conf')) // one source of truth
    expect(JSON.stringify(c.readinessProbe)).toContain('redis-cli ping')
    expect(c.livenessProbe).toBeDefined()

    const svc = find('Service', 'redis')
    expect(sts.spec.template.metadata.labels).toMatchObject(svc.spec.selector)
    expect(svc.spec.ports[0].port).toBe(6379)
    expect(find('Service', sts.spec.serviceName)?.spec.clusterIP).toBe('None')
    expect(new URL(find('ConfigMap', 'threadwork-config').data.REDIS_URL).hostname).toBe('redis')
  })

  it('worker ScaledObject: targets the worker Deployment with a redis list trigger on a BullMQ wait list', () => {
    const so = applied.find((d) => d.kind === 'ScaledObject')
    expect(so.apiVersion).toBe('keda.sh/v1alpha1')
    expect(so.spec.scaleTargetRef.name).toBe('worker')
    expect(so.spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment')
    expect(find('Deployment', so.spec.scaleTargetRef.name)).toBeDefined()
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1)
    expect(so.spec.maxReplicaCount).toBeGreaterThan(so.spec.minReplicaCount)
    expect(so.spec.cooldownPeriod).toBeGreaterThan(0)

    const trigger = so.spec.triggers[0]
    expect(trigger.type).toBe('redis')
    const m = trigger.metadata
    expect(m.listName).toMatch(/:wait$/)
    expect(m.listName).toMatch(/\{[^}]+\}/) // hash-tagged, as BullMQ needs under Redis Cluster
    // KEDA metadata values are strings.
    expect(m.listLength).toMatch(/^\d+$/)
    expect(m.activationListLength).toMatch(/^\d+$/)
    expect(m.address).toMatch(/^redis\.threadwork\.svc\.cluster\.local:6379$/)
    expect(find('Service', 'redis')).toBeDefined()
  })

  it('ScaledObject listName is the wait list of the queue the worker consumes (shard 0)', async () => {
    // BullMQ keys are `<prefix>:<queue name>:<type>`; the queue name and prefix come from storage's
    // key layout and the REDIS_PREFIX the pods get. A mismatch reads 0 and never scales.
    const { keys } = await import('@threadwork/storage')
    const prefix = find('ConfigMap', 'threadwork-config').data.REDIS_PREFIX
    const k = keys(prefix)
    const so = applied.find((d) => d.kind === 'ScaledObject')
    expect(so.spec.triggers[0].metadata.listName).toBe(`${k.prefix}:${k.drainQueue(0)}:wait`)
  })

  it('lets only Threadwork pods and KEDA reach Redis', () => {
    const np = find('NetworkPolicy', 'redis')
    expect(find('StatefulSet', 'redis').spec.template.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels)
    const from = np.spec.ingress[0].from as Doc[]
    expect(from).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } })
    for (const w of workloads) {
      expect(w.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('threadwork')
    }
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
