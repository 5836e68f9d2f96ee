import { existsSync } from 'node:fs'

/** Per-session limits (SandboxEnv; units in the names). */
export interface SandboxLimits {
  memoryMb: number
  cpuSeconds: number
  maxProcesses: number
  diskMb: number
  tmpMb: number
}

export interface BwrapCommandInput {
  /** The venv (bound read-only at the same path: its scripts and pyvenv.cfg hold absolute paths). */
  venvDir: string
  /** Directories the venv's base Python lives in, when outside /usr (bound read-only). */
  extraReadOnly: string[]
  /** kernel_host.py on the host; bound read-only at /opt/threadwork/kernel_host.py. */
  hostScript: string
  /** /etc/passwd and /etc/group naming the sandbox user (written by the service at start). */
  passwdFile: string
  groupFile: string
  limits: SandboxLimits
  /** Host uid/gid the session runs as; null when the service is not root (it runs as itself). */
  uid: number | null
  /** argv run inside; default: the kernel host. */
  command?: string[]
}

/** Where the sandbox sees the kernel host script. */
export const HOST_SCRIPT_PATH = '/opt/threadwork/kernel_host.py'
/** The user code sees this uid/gid (mapped to the session's unprivileged host uid). */
const INNER_ID = '1000'
const MiB = 1024 * 1024

/**
 * /etc entries Python and matplotlib read. Nothing else of /etc is visible: no shadow, no
 * resolv.conf, no host names. (`/etc/alternatives` holds Debian's /usr/bin symlink targets.)
 */
const ETC_ALLOW = ['/etc/ld.so.cache', '/etc/localtime', '/etc/fonts', '/etc/alternatives', '/etc/mime.types']

/**
 * The command that starts one session's sandbox: `prlimit` sets the rlimits, `setpriv` drops to
 * the session's unprivileged host uid (root only), and bubblewrap builds the sandbox.
 *
 * Why each part (research/sandbox-notes.md, measured on these hosts):
 * - started by root, bwrap maps the sandbox uid to host root (host files owned by root become
 *   readable), and RLIMIT_NPROC does not bind root: hence setpriv to a per-session uid;
 * - `--clearenv` does not clean /proc/1/environ (bwrap is pid 1 and keeps its own environment):
 *   the caller spawns this with an explicit minimal environment ({@link sandboxSpawnEnv});
 * - `--unshare-all` (net, pid, ipc, uts, cgroup) + `--unshare-user` + `--disable-userns`: no
 *   network but a private loopback, no host processes, no nested namespaces;
 * - `--die-with-parent`: a crashed service leaves no sandbox behind; `--new-session`: no
 *   TIOCSTI into a terminal;
 * - /mnt/data and /tmp are size-limited tmpfs: the disk limit, and nothing written reaches the
 *   host's disk or another session.
 */
export function bwrapCommand(input: BwrapCommandInput): { file: string; args: string[] } {
  const { limits } = input
  const prlimit = [
    `--as=${limits.memoryMb * MiB}`,
    `--cpu=${limits.cpuSeconds}`,
    `--nproc=${limits.maxProcesses}`,
    // A single file can never exceed /mnt/data anyway; this also bounds writes to pipes' targets.
    `--fsize=${Math.max(limits.diskMb, limits.tmpMb) * MiB}`,
    '--nofile=1024',
    '--core=0',
  ]
  const setpriv = input.uid === null ? [] : ['setpriv', `--reuid=${input.uid}`, `--regid=${input.uid}`, '--clear-groups', '--']
  const binds: string[] = ['--ro-bind', '/usr', '/usr']
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) {
    // Debian's merged /usr: /bin → usr/bin and so on.
    if (existsSync(`/usr/${link}`)) binds.push('--symlink', `usr/${link}`, `/${link}`)
  }
  for (const path of ETC_ALLOW) if (existsSync(path)) binds.push('--ro-bind', path, path)
  binds.push('--ro-bind', input.passwdFile, '/etc/passwd', '--ro-bind', input.groupFile, '/etc/group')
  for (const dir of input.extraReadOnly) binds.push('--ro-bind', dir, dir)
  binds.push('--ro-bind', input.venvDir, input.venvDir, '--ro-bind', input.hostScript, HOST_SCRIPT_PATH)

  const python = `${input.venvDir}/bin/python`
  const env: Record<string, string> = {
    PATH: `${input.venvDir}/bin:/usr/bin:/bin`,
    HOME: '/tmp/home',
    LANG: 'C.UTF-8',
    MPLCONFIGDIR: '/tmp/mpl',
    MPLBACKEND: 'module://matplotlib_inline.backend_inline',
    IPYTHONDIR: '/tmp/ipython',
    JUPYTER_RUNTIME_DIR: '/tmp/jupyter-runtime',
    JUPYTER_DATA_DIR: '/tmp/jupyter-data',
    JUPYTER_CONFIG_DIR: '/tmp/jupyter-data',
    JUPYTER_PLATFORM_DIRS: '1',
    // One BLAS/OpenMP thread: threads count against the process limit, and the host has few cores.
    OPENBLAS_NUM_THREADS: '1',
    OMP_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  }
  const args = [
    ...prlimit,
    '--',
    ...setpriv,
    'bwrap',
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--uid',
    INNER_ID,
    '--gid',
    INNER_ID,
    '--hostname',
    'sandbox',
    // The tmpfs mounts go first: binds after them may live below /tmp (a checkout under /tmp, as
    // CI's may be), and a tmpfs mounted later would hide them.
    '--size',
    String(limits.tmpMb * MiB),
    '--tmpfs',
    '/tmp',
    '--size',
    String(limits.diskMb * MiB),
    '--tmpfs',
    '/mnt/data',
    ...binds,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--chdir',
    '/mnt/data',
    '--clearenv',
    ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
    '--',
    ...(input.command ?? [python, HOST_SCRIPT_PATH]),
  ]
  return { file: 'prlimit', args }
}

/** bwrap's own environment, visible inside as /proc/1/environ: nothing but a PATH. */
export const sandboxSpawnEnv = (): Record<string, string> => ({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' })
