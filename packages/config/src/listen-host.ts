import { isIP } from 'node:net'
import { EnvError } from './env.js'

/** True for names and addresses that only this host can reach: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  if (isIP(v4) === 4) return v4.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h)
  return false
}

/**
 * Where the API listens. Without `API_KEYS` every request is project `default` under the dev key
 * printed in the README, so the API then listens on loopback only (`127.0.0.1`); with keys, on
 * every interface (`0.0.0.0`) unless `HOST` says otherwise. A non-loopback `HOST` without
 * `API_KEYS` is refused: that would expose every conversation to anyone who can read the README.
 *
 * @throws EnvError one human line naming HOST and API_KEYS.
 */
export function apiListenHost(env: { HOST?: string | undefined; API_KEYS?: ReadonlyMap<string, string> | undefined }): string {
  const hasKeys = env.API_KEYS !== undefined && env.API_KEYS.size > 0
  if (env.HOST === undefined || env.HOST === '') return hasKeys ? '0.0.0.0' : '127.0.0.1'
  if (!hasKeys && !isLoopbackHost(env.HOST)) {
    throw new EnvError(
      `Invalid configuration: HOST=${env.HOST} would serve other hosts, but API_KEYS is unset (only the public development key would be accepted); set API_KEYS=key:project,… or leave HOST unset (loopback only)`,
    )
  }
  return env.HOST
}
