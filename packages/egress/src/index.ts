export {
  createSafeDispatcher,
  createSafeLookup,
  forbiddenReason,
  isAllowedHostname,
  isForbiddenAddress,
  judgeAddresses,
  METADATA_REASON,
  parseAllowList,
  SsrfBlockedError,
  type AllowList,
  type SafeDispatcherOptions,
  type SafeLookup,
  type SafeLookupOptions,
} from './ssrf-guard.js'
export { createHostResolver, DEFAULT_DNS_TIMEOUT_MS, type HostResolver, withDnsTimeout } from './resolve-host.js'
export { createTargetChecker, type TargetChecker, type TargetRefusal } from './check-target.js'
