import { z } from 'zod'
import { BaseEnv } from './env.js'

const positiveInt = z.coerce.number().int().positive()

/** Settings of services/sandbox (the code_interpreter host). Limits are per session. */
export const SandboxEnv = BaseEnv.extend({
  /** Shared with the worker (its SANDBOX_TOKEN); every request but /healthz must carry it. */
  SANDBOX_TOKEN: z.string().min(16, 'must be at least 16 characters (the sandbox is never open)'),
  /** Loopback by default: only this host's worker reaches it. Set 0.0.0.0 (and SANDBOX_ADVERTISE_URL) to serve other hosts. */
  SANDBOX_HOST: z.string().default('127.0.0.1'),
  /** 0: any free port (registered in Redis with the URL, so workers find it anyway). */
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  /** The base URL workers use for this host; default http://SANDBOX_HOST:<port>. */
  SANDBOX_ADVERTISE_URL: z.string().url().optional(),
  /** The Python environment (scripts/sandbox-venv.mjs installs it); default <repo>/.data/sandbox-venv. */
  SANDBOX_VENV: z.string().optional(),
  /** A session idle this long is ended (OpenAI: 1 hour). */
  SANDBOX_IDLE_TIMEOUT_SECONDS: positiveInt.default(3600),
  /** Wall time of one execution unless the caller asks for less (OpenAI documents none; 60 s). */
  SANDBOX_EXECUTION_TIMEOUT_MS: positiveInt.default(60_000),
  /** Most wall time a caller may ask for. */
  SANDBOX_MAX_EXECUTION_TIMEOUT_MS: positiveInt.default(600_000),
  /** Sessions one host runs; a new one beyond this ends the least recently used idle session. */
  SANDBOX_MAX_SESSIONS: positiveInt.max(10_000).default(32),
  /** Sandboxes kept started and unassigned (each an idle session's memory), so a new session starts at once instead of waiting seconds for its kernel. */
  SANDBOX_PREWARM: z.coerce.number().int().min(0).max(100).default(1),
  /** Address space of each sandboxed process (RLIMIT_AS), MiB. */
  SANDBOX_MEMORY_MB: positiveInt.default(2048),
  /** CPU time of each sandboxed process over its life (RLIMIT_CPU), seconds. */
  SANDBOX_CPU_SECONDS: positiveInt.default(1800),
  /** Processes of one session (RLIMIT_NPROC; per session when the service runs as root, which gives each session its own uid). */
  SANDBOX_MAX_PROCESSES: positiveInt.default(64),
  /** Size of the session's /mnt/data (a tmpfs), MiB. */
  SANDBOX_DISK_MB: positiveInt.default(512),
  /** Size of the session's private /tmp (a tmpfs), MiB. */
  SANDBOX_TMP_MB: positiveInt.default(256),
  /** Characters of logs one execution returns; the rest is cut with a note. */
  SANDBOX_MAX_OUTPUT_CHARS: positiveInt.default(100_000),
  /** Images one execution returns. */
  SANDBOX_MAX_IMAGES: positiveInt.default(20),
  /** Bytes of new/changed /mnt/data files one execution returns, MiB. */
  SANDBOX_MAX_FILES_MB: positiveInt.default(64),
  /** First host uid of the per-session uids (root only): session slot n runs as SANDBOX_UID_BASE + n. */
  SANDBOX_UID_BASE: positiveInt.default(200_000),
})
export type SandboxEnv = z.infer<typeof SandboxEnv>
