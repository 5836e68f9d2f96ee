export { createSandboxClient, mergeLogs } from './client.js'
export type { ExecuteOptions, ExecuteResult, SandboxClient, SandboxClientOptions, SandboxFile, SandboxOutput } from './client.js'
export { NO_SANDBOX_MESSAGE, SandboxUnavailableError } from './errors.js'
export { readNdjson } from './ndjson.js'
export { HEARTBEAT_MS, HOST_TTL_MS, liveHosts, sandboxKeys, startHeartbeat } from './registry.js'
export { ExecuteRequest, ExecutionStatus, InterruptRequest, SessionKey, WireError, WireEvent, WireFile, WireOutput, WireOutputEvent, WireResultEvent } from './wire.js'

