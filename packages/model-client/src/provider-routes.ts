import { readFile } from 'node:fs/promises'
import { z } from 'zod'

/**
 * What a route says about how its server behaves (also settable on the default provider). All
 * optional; absent means the OpenAI behaviour.
 */
const ProviderSettingsFields = {
  /**
   * Tokens of prompt + reply the route's models take. Default: the router's `contextWindowTokens`
   * (CONTEXT_WINDOW_TOKENS, 128 000). `truncation_strategy: auto` fits threads into it.
   */
  contextWindowTokens: z.number().int().min(256).optional(),
  /** Per-model windows: `{ "<glob or name>": tokens }`, the first matching key wins over `contextWindowTokens`. */
  contextWindows: z.record(z.string().min(1), z.number().int().min(256)).optional(),
  /**
   * The name the reply limit is sent under. Default `max_completion_tokens` (OpenAI's; its
   * reasoning models refuse `max_tokens`); `max_tokens` for servers that only know the older name.
   */
  maxTokensParam: z.enum(['max_completion_tokens', 'max_tokens']).optional(),
  /**
   * The server's streams may end without a `finish_reason` chunk (some proxies and old servers do).
   * Default false: a stream ending without one was cut, and is treated as interrupted.
   */
  omitsFinishReason: z.boolean().optional(),
  /**
   * The route serves any model name (e.g. a gateway that loads models on demand): names are not
   * checked against its model list when assistants and runs are created. Default false.
   */
  anyModel: z.boolean().optional(),
}
export const ProviderSettings = z.strictObject(ProviderSettingsFields)
export type ProviderSettings = z.infer<typeof ProviderSettings>

/**
 * One entry of the providers file: models whose name matches `match` (a glob where `*` is any run
 * of characters and `?` one character, or an exact name) or appears in `models` go to `baseURL`.
 */
export const ProviderRoute = z
  .strictObject({
    /** Shown in logs and `/v1/models` `owned_by`; defaults to `match`. */
    name: z.string().min(1).optional(),
    match: z.string().min(1),
    baseURL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    apiKey: z.string().min(1).optional(),
    /** Name of the environment variable holding the key (keeps secrets out of the file). */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    /** Extra exact names this provider serves; also what `/v1/models` lists instead of asking it. */
    models: z.array(z.string().min(1)).optional(),
    /** Per-provider override of the router's request timeout. */
    timeoutMs: z.number().int().positive().optional(),
    ...ProviderSettingsFields,
  })
  .refine((r) => !(r.apiKey && r.apiKeyEnv), { message: 'set apiKey or apiKeyEnv, not both' })
export type ProviderRoute = z.infer<typeof ProviderRoute>

/** The providers file: `{"routes": [...]}` or a bare array of routes. */
export const ProviderRoutesFile = z.preprocess(
  (raw) => (Array.isArray(raw) ? { routes: raw } : raw),
  z.strictObject({ routes: z.array(ProviderRoute) }),
)

/**
 * Reads and validates a providers JSON file. A bad file throws an Error whose one-line message
 * names the file and every problem (`routes[1].baseURL: must be an http(s) URL`).
 */
export async function loadProviderRoutes(filePath: string): Promise<ProviderRoute[]> {
  let text: string
  try {
    text = await readFile(filePath, 'utf8')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new Error(`Cannot read providers file ${filePath}: ${typeof code === 'string' ? code : String(err)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new Error(`Providers file ${filePath} is not valid JSON: ${(err as Error).message}`)
  }
  const parsed = ProviderRoutesFile.safeParse(json)
  if (!parsed.success) throw new Error(`Invalid providers file ${filePath}: ${describeIssues(parsed.error)}`)
  return parsed.data.routes
}

/** Parses routes given in code, with the same one-line errors as the file loader. */
export function parseProviderRoutes(routes: unknown, source = 'provider routes'): ProviderRoute[] {
  const parsed = z.array(ProviderRoute).safeParse(routes)
  if (!parsed.success) throw new Error(`Invalid ${source}: ${describeIssues(parsed.error, 'routes')}`)
  return parsed.data
}

/** `routes[1].baseURL: must be an http(s) URL; routes[2]: Unrecognized key: "apikey"` */
function describeIssues(error: z.ZodError, root = ''): string {
  return error.issues
    .map((issue) => {
      let path = root
      for (const part of issue.path) path += typeof part === 'number' ? `[${part}]` : path ? `.${String(part)}` : String(part)
      return `${path || '(root)'}: ${issue.message}`
    })
    .join('; ')
}

/** Compiles a route's `match` into a predicate: glob when it has `*`/`?`, exact otherwise. */
export function compileModelMatcher(match: string, models: readonly string[] = []): (model: string) => boolean {
  const extra = new Set(models)
  if (!/[*?]/.test(match)) return (model) => model === match || extra.has(model)
  const source = match.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  const pattern = new RegExp(`^${source}$`)
  return (model) => pattern.test(model) || extra.has(model)
}
