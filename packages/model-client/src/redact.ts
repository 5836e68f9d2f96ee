// Patterns for secrets that providers (or URLs we were configured with) can put into text.
const PATTERNS: [RegExp, string][] = [
  // OpenAI, DeepSeek and DashScope (Qwen) keys all start with `sk-`; OpenAI echoes a masked key in 401s.
  [/\bsk-[A-Za-z0-9_*.-]{3,}/g, 'sk-***'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=*-]+/gi, '$1 ***'],
  // Credentials inside URLs: scheme://user:pass@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@'],
  // Secrets in query strings.
  [/([?&](?:api[_-]?key|key|token|access_token|secret|sig|signature|password)=)[^&\s"'#]+/gi, '$1***'],
]

const MAX_LENGTH = 500

/** Strips keys, bearer tokens and URL credentials from `text`, collapses whitespace, caps length. */
export function redactSecrets(text: string): string {
  let out = text
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement)
  out = out.replace(/\s+/g, ' ').trim()
  return out.length > MAX_LENGTH ? `${out.slice(0, MAX_LENGTH - 1)}…` : out
}

/** `https://user:pass@host/v1` → `https://host/v1`; other strings unchanged. For display only. */
export function stripUrlCredentials(url: string): string {
  try {
    const parsed = new URL(url)
    if (!parsed.username && !parsed.password) return url
    parsed.username = ''
    parsed.password = ''
    return parsed.toString()
  } catch {
    return redactSecrets(url)
  }
}
