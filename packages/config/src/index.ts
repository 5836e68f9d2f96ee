export { SandboxEnv } from './sandbox-env.js'
export { BaseEnv, UpstreamEnv, WebhookTargetEnv, WebhookAttemptEnv, ApiEnv, WorkerEnv, WebhooksEnv, StorageEnv, EnvError, exitOnConfigError, loadEnv, loadEnvOrExit, DEV_API_KEYS } from './env.js'
export { apiListenHost, isLoopbackHost } from './listen-host.js'
