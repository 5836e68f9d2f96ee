import { describe, expect, it } from 'vitest'
import { bwrapCommand, sandboxSpawnEnv } from './bwrap-command.js'

const input = {
  venvDir: '/opt/venv',
  extraReadOnly: ['/opt/python'],
  hostScript: '/srv/kernel_host.py',
  passwdFile: '/run/tw/passwd',
  groupFile: '/run/tw/group',
  limits: { memoryMb: 1024, cpuSeconds: 60, maxProcesses: 16, diskMb: 32, tmpMb: 8 },
}
const MiB = 1024 * 1024

describe('bwrapCommand', () => {
  it('sets the rlimits, drops to the session uid, then builds the sandbox', () => {
    const { file, args } = bwrapCommand({ ...input, uid: 200_005 })
    expect(file).toBe('prlimit')
    expect(args.slice(0, args.indexOf('--'))).toEqual([`--as=${1024 * MiB}`, '--cpu=60', '--nproc=16', `--fsize=${32 * MiB}`, '--nofile=1024', '--core=0'])
    const rest = args.slice(args.indexOf('--') + 1)
    expect(rest.slice(0, 5)).toEqual(['setpriv', '--reuid=200005', '--regid=200005', '--clear-groups', '--'])
    expect(rest[5]).toBe('bwrap')
    for (const flag of ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--clearenv']) expect(rest).toContain(flag)
    expect(rest.join(' ')).toContain('--cap-drop ALL')
    expect(rest.join(' ')).toContain(`--size ${8 * MiB} --tmpfs /tmp --size ${32 * MiB} --tmpfs /mnt/data`)
    expect(rest.join(' ')).toContain('--ro-bind /opt/venv /opt/venv')
    expect(rest.join(' ')).toContain('--ro-bind /opt/python /opt/python')
    expect(rest.join(' ')).not.toMatch(/--bind /) // nothing of the host is writable
    expect(rest.at(-1)).toBe('/opt/threadwork/kernel_host.py')
  })

  it('runs as the service user when not root (no setpriv)', () => {
    const { args } = bwrapCommand({ ...input, uid: null })
    expect(args).not.toContain('setpriv')
  })

  it('spawns bwrap with nothing but a PATH (its environment is /proc/1/environ inside)', () => {
    expect(Object.keys(sandboxSpawnEnv())).toEqual(['PATH'])
  })
})
