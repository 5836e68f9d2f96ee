// Static checks of infra/k8s (the manifests `kubectl apply -k infra/k8s` applies): the properties
// that break production when they drift (persistence, scalability of workers, probes, non-root,
// autoscaling, the sandbox's isolation).
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'

const infra = resolve(import.meta.dirname, '../../infra')
const read = (...p: string[]) => readFileSync(join(...p), 'utf8')

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Doc = any

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
    expect(resources.sort()).toEqual(k8sFiles.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml' && !f.endsWith('.optional.yaml')).sort())
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

  it('worker ScaledObject: targets the worker Deployment with a redis-streams lag trigger on the wake-up stream', () => {
    const so = applied.find((d) => d.kind === 'ScaledObject')
    expect(so.apiVersion).toBe('keda.sh/v1alpha1')
    expect(so.spec.scaleTargetRef.name).toBe('worker')
    expect(so.spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment')
    expect(find('Deployment', so.spec.scaleTargetRef.name)).toBeDefined()
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1)
    expect(so.spec.maxReplicaCount).toBeGreaterThan(so.spec.minReplicaCount)
    expect(so.spec.cooldownPeriod).toBeGreaterThan(0)

    const trigger = so.spec.triggers[0]
    expect(trigger.type).toBe('redis-streams')
    const m = trigger.metadata
    expect(m.stream).toMatch(/:wakeups$/)
    expect(m.stream).toMatch(/\{[^}]+\}/) // hash-tagged: the shard's slot under Redis Cluster
    expect(m.consumerGroup).toBe('drain')
    // KEDA metadata values are strings.
    expect(m.lagCount).toMatch(/^\d+$/)
    expect(m.activationLagCount).toMatch(/^\d+$/)
    expect(m.address).toMatch(/^redis\.threadwork\.svc\.cluster\.local:6379$/)
    expect(find('Service', 'redis')).toBeDefined()
  })

  it('ScaledObject stream and group are the ones the worker reads (shard 0)', async () => {
    // The stream key comes from storage's key layout and the REDIS_PREFIX the pods get. A mismatch
    // reads 0 and never scales.
    const { keys, DRAIN_GROUP } = await import('@threadwork/storage')
    const prefix = find('ConfigMap', 'threadwork-config').data.REDIS_PREFIX
    const k = keys(prefix)
    const so = applied.find((d) => d.kind === 'ScaledObject')
    expect(so.spec.triggers[0].metadata.stream).toBe(k.wakeups(0))
    expect(so.spec.triggers[0].metadata.consumerGroup).toBe(DRAIN_GROUP)
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
