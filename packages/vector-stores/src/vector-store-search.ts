import { setTimeout as sleep } from 'node:timers/promises'
import type {
  Assistant,
  Thread,
  VectorStoreFileContent,
  VectorStoreSearchParams,
  VectorStoreSearchResult,
  VectorStoreSearchResultsPage,
} from '@threadwork/domain'
import type { VectorStoreStore } from '@threadwork/storage'
import type { OpenStoreIndex } from './ports.js'
import { rewriteQuery } from './query-rewrite.js'

/** OpenAI's default for `POST /vector_stores/{id}/search` (the file_search tool's is 20). */
export const SEARCH_DEFAULT_MAX_RESULTS = 10

/** A file attached again is in_progress while its previous chunks still answer. */
const SEARCHABLE: ReadonlySet<string> = new Set(['completed', 'in_progress'])

export interface VectorStoreSearchDeps {
  stores: VectorStoreStore
  openIndex: OpenStoreIndex
  /** The parsed text of a File (for the content endpoint); throws OpenAI's 404 when it is gone. */
  fileText: (project: string, fileId: string, filename: string) => Promise<string>
}

export type VectorStoreSearch = ReturnType<typeof createVectorStoreSearch>

/**
 * The read side: search (the endpoint and file_search in runs), a file's parsed content, and which
 * stores a run may search. A search is activity: it moves the store's `last_active_at` (and so its
 * `expires_at`); an expired store is refused with a 400.
 */
export function createVectorStoreSearch(deps: VectorStoreSearchDeps) {
  const { stores } = deps

  const search = {
    /**
     * `POST /vector_stores/{id}/search`: hybrid (keyword + vector when an embedding model is
     * configured) over the store's chunks, filtered on file attributes, best first. Hits of files
     * that left the store (their chunks not yet removed by its writer) are dropped.
     */
    async search(project: string, id: string, params: VectorStoreSearchParams, signal?: AbortSignal): Promise<VectorStoreSearchResultsPage> {
      await stores.touch(project, id)
      const asked = typeof params.query === 'string' ? [params.query] : params.query
      const queries = params.rewrite_query ? asked.map(rewriteQuery) : asked
      const index = await deps.openIndex(id)
      const hits = await index.search({
        queries,
        maxNumResults: params.max_num_results ?? SEARCH_DEFAULT_MAX_RESULTS,
        ranker: params.ranking_options?.ranker ?? 'auto',
        scoreThreshold: params.ranking_options?.score_threshold ?? 0,
        filters: params.filters ?? null,
        signal,
      })
      const info = await stores.fileInfo(project, id, [...new Set(hits.map((h) => h.file_id))])
      const data: VectorStoreSearchResult[] = hits
        .filter((h) => SEARCHABLE.has(info.get(h.file_id)?.status ?? 'cancelled'))
        // Attributes as stored now: the index's copy follows an update a moment later.
        .map((h) => ({ file_id: h.file_id, filename: info.get(h.file_id)!.filename || h.filename, score: h.score, attributes: info.get(h.file_id)!.attributes, content: h.content }))
      return { object: 'vector_store.search_results.page', search_query: queries, data, has_more: false, next_page: null }
    },

    /**
     * file_search in runs (services/worker tools/file-search.ts `FileSearchBackend`): one store's
     * chunks for `queries`, best first, one hit per chunk. Same rules as the endpoint: activity on
     * the store, 404 for an unknown store, 400 for an expired one, hits of removed files dropped.
     */
    async searchForRun(
      project: string,
      id: string,
      req: { queries: string[]; maxNumResults: number; ranker: 'auto' | 'default_2024_08_21'; scoreThreshold: number },
      signal?: AbortSignal,
    ): Promise<{ file_id: string; filename: string; score: number; text: string }[]> {
      await stores.touch(project, id)
      const index = await deps.openIndex(id)
      const hits = await index.search({ queries: req.queries, maxNumResults: req.maxNumResults, ranker: req.ranker, scoreThreshold: req.scoreThreshold, signal })
      const info = await stores.fileInfo(project, id, [...new Set(hits.map((h) => h.file_id))])
      return hits
        .filter((h) => SEARCHABLE.has(info.get(h.file_id)?.status ?? 'cancelled'))
        .flatMap((h) => h.content.map((part) => ({ file_id: h.file_id, filename: info.get(h.file_id)!.filename || h.filename, score: h.score, text: part.text })))
    },

    /**
     * Resolves once store `id` has no file in progress (or is gone or expired: the search then
     * says so), or after `timeoutMs`; rejects with the signal's reason when `signal` aborts. Polls
     * the store's file_counts every `pollMs` (a few hundred ms of lag is nothing beside an ingestion).
     */
    async waitUntilReady(project: string, id: string, timeoutMs: number, signal: AbortSignal, pollMs = 200): Promise<void> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        signal.throwIfAborted()
        const vs = await stores.get(project, id).catch(() => null)
        if (!vs || vs.status === 'expired' || vs.file_counts.in_progress === 0) return
        const left = deadline - Date.now()
        if (left <= 0) return
        await sleep(Math.min(pollMs, left), undefined, { signal })
      }
    },

    /** `GET /vector_stores/{id}/files/{file_id}/content`: the file's parsed text, one page. */
    async content(project: string, id: string, fileId: string): Promise<VectorStoreFileContent & { file_id: string; filename: string; attributes: unknown }> {
      const file = await stores.getFile(project, id, fileId)
      const text = file.status === 'completed' ? await deps.fileText(project, fileId, file.filename) : ''
      return {
        object: 'vector_store.file_content.page',
        file_id: fileId,
        filename: file.filename,
        attributes: file.attributes,
        data: text ? [{ type: 'text', text }] : [],
        has_more: false,
        next_page: null,
      }
    },

    /**
     * The vector stores a run's file_search may search: the assistant's and the thread's
     * `tool_resources.file_search.vector_store_ids` (one each at most, OpenAI's limit), deduplicated.
     */
    runVectorStoreIds(assistant: Pick<Assistant, 'tool_resources'>, thread: Pick<Thread, 'tool_resources'>): string[] {
      const ids = [...(assistant.tool_resources?.file_search?.vector_store_ids ?? []), ...(thread.tool_resources?.file_search?.vector_store_ids ?? [])]
      return [...new Set(ids)]
    },
  }
  return search
}
