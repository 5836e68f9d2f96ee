import { FILE_SEARCH_DEFAULT_RANKER, type FileSearchResult, type Run } from '@threadwork/domain'
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions'
import { type BuiltinCall, type BuiltinContext, type BuiltinResult, type BuiltinTool, ToolUnavailableError } from './builtin-tool.js'
import { sourceMarker } from './reply-annotations.js'

/** One chunk a vector store search found. */
export interface SearchHit {
  file_id: string
  filename: string
  /** 0–1, higher is better. */
  score: number
  text: string
}

/** The search side file_search needs: one vector store's hybrid search (packages/vector-stores). */
export interface FileSearchBackend {
  search(
    project: string,
    vectorStoreId: string,
    req: { queries: string[]; maxNumResults: number; ranker: 'auto' | 'default_2024_08_21'; scoreThreshold: number },
    signal: AbortSignal,
  ): Promise<SearchHit[]>
  /** Resolves once the store has no file in progress, or after `timeoutMs` (at once for a store that is gone or expired); rejects when `signal` aborts. */
  waitUntilReady(project: string, vectorStoreId: string, timeoutMs: number, signal: AbortSignal): Promise<void>
}

/** The function the model calls; `queries` like OpenAI's own `msearch`. */
export const FILE_SEARCH_FUNCTION = 'file_search'
/** OpenAI's default `max_num_results` for the tool (gpt-4* models; research/assistants-v2-surface.md §2). */
export const FILE_SEARCH_DEFAULT_MAX_RESULTS = 20
/** Most queries one call runs (OpenAI's msearch takes a handful; more is a runaway model). */
const MAX_QUERIES = 5
/**
 * How long a search waits for the thread's store to finish ingesting: OpenAI's "60 second maximum
 * wait in the Run object when the thread's vector store contains files that are still being
 * processed" (file_search docs, "Ensuring vector store readiness"), which its own quickstart relies
 * on (attach a file to the message, create_and_poll at once). Not the assistant's store: OpenAI
 * does not wait for that one either (its owner polls it when adding files).
 */
export const THREAD_STORE_WAIT_MS = 60_000

const definition: ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: FILE_SEARCH_FUNCTION,
    description:
      "Search the files the user provided (documents in the assistant's and the thread's vector stores). " +
      'Give one or more search queries; include a rewrite of the user question as a standalone query, and use several queries for different aspects or wordings. ' +
      'Each passage returned starts with a source marker such as 【0:3†file.md】. When your answer uses a passage, cite it by writing its marker, exactly as given, right after the statement it supports.',
    parameters: {
      type: 'object',
      properties: { queries: { type: 'array', items: { type: 'string' }, description: 'Search queries, 1 to 5.' } },
      required: ['queries'],
    },
  },
}

/**
 * file_search in runs (issue 10 item 6): offered when the run has the tool and the assistant or
 * thread has a vector store (or the run forces it); a call searches every store of the run with all
 * its queries in parallel, keeps the best `max_num_results` chunks over `score_threshold`, and hands
 * them to the model headed by source markers. The step records `ranking_options` and each result's
 * `file_id`, `file_name`, `score` and `content` (shown only with `include[]`).
 */
export function createFileSearchTool(backend: FileSearchBackend): BuiltinTool {
  return {
    type: 'file_search',
    name: FILE_SEARCH_FUNCTION,
    offer(run, resources) {
      const forced = typeof run.tool_choice === 'object' && run.tool_choice.type === 'file_search'
      return resources.vectorStoreIds.length > 0 || forced ? definition : null
    },
    async execute(call: BuiltinCall, ctx: BuiltinContext): Promise<BuiltinResult> {
      const options = fileSearchOptions(ctx.run)
      const ranking_options = { ranker: options.ranker, score_threshold: options.scoreThreshold }
      const queries = queriesOf(call.arguments)
      const stores = ctx.resources.vectorStoreIds
      if (queries.length === 0 || stores.length === 0) {
        const why = queries.length === 0 ? 'The call gave no search queries: call file_search with {"queries": ["…"]}.' : 'No files are available to search.'
        return { call: { id: call.id, type: 'file_search', file_search: { ranking_options, results: [] } }, output: why }
      }
      let hits: SearchHit[]
      try {
        const threadStores = ctx.resources.threadVectorStoreIds.filter((id) => stores.includes(id))
        await Promise.all(threadStores.map((id) => backend.waitUntilReady(ctx.project, id, THREAD_STORE_WAIT_MS, ctx.signal)))
        const perStore = await Promise.all(
          stores.map((id) => backend.search(ctx.project, id, { queries, maxNumResults: options.maxNumResults, ranker: options.ranker, scoreThreshold: options.scoreThreshold }, ctx.signal)),
        )
        hits = perStore.flat().sort((a, b) => b.score - a.score).slice(0, options.maxNumResults)
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? err
        throw new ToolUnavailableError(`file_search failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
      const results: FileSearchResult[] = hits.map((h) => ({ file_id: h.file_id, file_name: h.filename, score: h.score, content: [{ type: 'text', text: h.text }] }))
      const citations: Record<string, string> = {}
      const passages = hits.map((h, i) => {
        citations[`${ctx.ordinal}:${i}`] = h.file_id
        return `${sourceMarker(ctx.ordinal, i, h.filename)}\n${h.text}`
      })
      return {
        call: { id: call.id, type: 'file_search', file_search: { ranking_options, results } },
        output: passages.length > 0 ? passages.join('\n\n') : 'No results found in the files for these queries.',
        refs: { citations },
      }
    },
  }
}

/**
 * The run's file_search settings. The schema fills the ranker and threshold on every stored tool
 * (domain `FileSearchTool`), so the step's `ranking_options` are the run's `tools` ones; the
 * fallbacks serve a run without a file_search tool. `max_num_results` defaults here (20).
 */
export function fileSearchOptions(run: Run): { maxNumResults: number; ranker: 'auto' | 'default_2024_08_21'; scoreThreshold: number } {
  const tool = run.tools.find((t) => t.type === 'file_search')
  const fs = tool?.type === 'file_search' ? tool.file_search : undefined
  return {
    maxNumResults: fs?.max_num_results ?? FILE_SEARCH_DEFAULT_MAX_RESULTS,
    ranker: fs?.ranking_options.ranker ?? FILE_SEARCH_DEFAULT_RANKER,
    scoreThreshold: fs?.ranking_options.score_threshold ?? 0,
  }
}

/** `{"queries": [...]}` (also a lone `query` string, or a bare string, as weaker models send). */
function queriesOf(args: string): string[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(args)
  } catch {
    return args.trim() ? [args.trim()] : []
  }
  const raw = typeof parsed === 'object' && parsed !== null ? ((parsed as { queries?: unknown }).queries ?? (parsed as { query?: unknown }).query) : parsed
  const list = Array.isArray(raw) ? raw : [raw]
  return [...new Set(list.filter((q): q is string => typeof q === 'string' && q.trim() !== '').map((q) => q.trim()))].slice(0, MAX_QUERIES)
}
