// Docker HEALTHCHECK: GET /healthz on the api, and on the sandbox (its own image). The worker and
// webhooks have no HTTP port, so for them a running process is the best signal Docker can get (exit 0).
// Which service is this? SERVICE when set (compose sets it); otherwise look for the api process,
// since `docker run image worker` selects the service by argument, invisible to this check.
import { readdirSync, readFileSync } from 'node:fs'

const runsApi = () => {
  try {
    return readdirSync('/proc')
      .filter((pid) => /^\d+$/.test(pid))
      .some((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/services/api/dist/index.js')
        } catch {
          return false
        }
      })
  } catch {
    return true // no /proc: assume api and probe
  }
}

const service = process.env.SERVICE || (runsApi() ? 'api' : 'other')
if (service !== 'api' && service !== 'sandbox') process.exit(0)
// The sandbox's /healthz answers 503 when its self-check failed (no bwrap, no user namespaces).
const port = service === 'sandbox' ? process.env.SANDBOX_PORT || '8090' : process.env.PORT || '8080'
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) })
  process.exit(res.ok ? 0 : 1)
} catch {
  process.exit(1)
}
