import type { Table } from '@lancedb/lancedb'
import type { Embedder } from './embedder.js'
import { normalize } from './embedder.js'
import { type AttributeFilter, type Attributes, matchesFilter } from './filters.js'
import {
  COLUMNS,
  type ChunkRow,
  FTS_INDEX,
  type IndexLocation,
  assertSafeId,
  chunkBatch,
  chunkSchema,
  cjkTermsField,
  connectionFor,
  hasCjkTermsColumn,
  isSafeId,
  isTableNotFound,
  sqlString,
  vectorDimensions,
  vectorField,
} from './lance-store.js'
import { hasCjk } from './cjk.js'
import { VECTOR_INDEX_MIN_ROWS, createEmptyIndexes, maintainIndexes } from './maintenance.js'
import { DEFAULT_MAX_NUM_RESULTS, MAX_NUM_RESULTS, type Ranker, type SearchResult, parseAttributes, queryVectorsFor, rankedSearch } from './search.js'

/** A chunk to store: its text and, with an embedding model, its vector. */
export interface ChunkInput {
  text: string
  vector?: ArrayLike<number> | null
}

/** One file's new content for {@link VectorIndex.replaceFilesChunks}. */
export interface FileChunks {
  fileId: string
  chunks: readonly ChunkInput[]
  filename: string
  attributes?: Attributes | null
}

export interface SearchParams {
  /** One or more queries, searched in parallel; results are fused. */
  queries: readonly string[]
  /** Vectors of `queries` (same order); omitted: the index's embedder makes them, or the search is keyword-only. */
  queryVectors?: readonly ArrayLike<number>[] | null
  /** 1–50; default 20 (file_search). */
  maxNumResults?: number
  /** Default `auto` (rerank); `none` keeps the fusion order. */
  ranker?: Ranker
  /** 0–1; results scoring less are dropped. Default 0. */
  scoreThreshold?: number
  /** OpenAI attribute filter (validate untrusted input with parseAttributeFilter first). */
  filters?: AttributeFilter | null
  /** Only these files (e.g. the store's completed files); omitted: every file. */
  fileIds?: readonly string[] | null
  signal?: AbortSignal
}

/** One vector store's chunk index. Writes must come from one writer at a time (the caller's job design); reads run alongside. */
export interface VectorIndex {
  readonly vectorStoreId: string
  /**
   * Makes `chunks` the file's whole content in the index, in one atomic commit (an append for a
   * file not yet indexed; else a merge on chunk id deleting the file's chunks the new set lacks):
   * readers see the old or the new chunks, never a mix, and a retry after a crash never
   * duplicates a chunk. Vectors are normalised; all chunks
   * must have vectors of one width, or none. Returns the chunk count and the bytes they take
   * (UTF-8 text + 4 bytes per vector dimension: the vector store file's `usage_bytes`).
   * Throws RangeError for a bad file id or mixed/mismatched vectors.
   */
  replaceFileChunks(
    fileId: string,
    chunks: readonly ChunkInput[],
    meta: { filename: string; attributes?: Attributes | null },
  ): Promise<{ chunks: number; usageBytes: number }>
  /**
   * replaceFileChunks for several files in one commit (and one round of index maintenance): an
   * append when none of them is indexed yet, else one merge on chunk id that also deletes, for
   * these files only, the chunks their new sets lack. Readers see all of the files old or all
   * new. Files with no chunks are deleted (a commit of their own, before). The same rules on
   * vectors hold across all files (one width, or none). Results in input order. Throws
   * RangeError for a bad or repeated file id or mixed/mismatched vectors, before writing anything.
   *
   * `background`: for a writer with more writes queued. The index maintenance this write calls
   * for (folding its rows into the BM25 index, compaction) runs after it returns, overlapping the
   * writer's next batch, instead of before; every later maintenance of the store waits for it
   * (one at a time). Searches meanwhile find these rows through the index's analyzer, scanned
   * rather than looked up (slower, same results), as they do any rows awaiting a fold-in. A
   * failure goes to `onMaintenanceError`; the next maintenance finds the work undone and does it.
   */
  replaceFilesChunks(files: readonly FileChunks[], opts?: { background?: boolean }): Promise<{ chunks: number; usageBytes: number }[]>
  /** Removes the file's chunks (no-op when absent). */
  deleteFile(fileId: string): Promise<void>
  /** Replaces the stored attributes of the file's chunks (what filters and results see). */
  updateAttributes(fileId: string, attributes: Attributes | null): Promise<void>
  /** The file's chunks in order (for `GET /vector_stores/{id}/files/{file_id}/content`); [] when absent. */
  fileChunks(fileId: string): Promise<{ index: number; text: string }[]>
  /** Bytes the store's index takes on disk (data files of the current version). 0 when empty. */
  usageBytes(): Promise<number>
  /** Hybrid (or keyword-only) search; see SearchParams. [] for an empty store. */
  search(params: SearchParams): Promise<SearchResult[]>
  /** Folds new rows into the FTS (and vector) index and compacts small fragments; also run after each write when due. */
  optimize(): Promise<void>
  /**
   * The maintenance a write runs when due (maintenance.ts), for a writer whose queue is empty
   * (`idle`): new rows are folded in once they are 1/32 of the indexed ones, however few writes
   * brought them, so a store is not left scanning them on every search after a bulk load. Must
   * run on the store's one writer; a no-op for a store never written.
   */
  maintain(opts: { idle: boolean }): Promise<void>
}

export interface OpenVectorIndexOptions {
  /** Embeds search queries when `queryVectors` are not given; null/omitted: keyword-only unless vectors are given. */
  embedder?: Embedder | null
  /** Run index maintenance after writes (default true; benches turn it off to time it apart). */
  autoMaintain?: boolean
  /** Rows from which the store gets an ANN vector index (default VECTOR_INDEX_MIN_ROWS); below, vector search is exact. */
  vectorIndexMinRows?: number
  /** A failure of maintenance left running by a `background` write (for the caller's log; never thrown). */
  onMaintenanceError?: (err: Error) => void
}

/**
 * Opens (without creating: the first write creates it) the chunk index of one vector store: a
 * LanceDB table named after the store at `location`. Cheap; handles are cached per process.
 * Throws RangeError for an id outside [A-Za-z0-9_-].
 */
export async function openVectorIndex(location: IndexLocation, vectorStoreId: string, options: OpenVectorIndexOptions = {}): Promise<VectorIndex> {
  assertSafeId('vector store id', vectorStoreId)
  const db = await connectionFor(location)
  const embedder = options.embedder ?? null
  const autoMaintain = options.autoMaintain ?? true
  const vectorIndexMinRows = options.vectorIndexMinRows ?? VECTOR_INDEX_MIN_ROWS
  // Table handles are shared by every index object of the process for the same store: opening one
  // reads the table's manifest (a file read locally, GETs on S3), which a search per request
  // should not pay; handles stay current by themselves (readConsistencyInterval 0).
  const handleKey = `${location.uri}\u0000${JSON.stringify(Object.entries(location.storageOptions ?? {}).sort())}\u0000${vectorStoreId}`
  let table: Table | null = tableHandles.get(handleKey) ?? null
  const remember = <T extends Table | null>(t: T): T => {
    table = t
    if (t) tableHandles.set(handleKey, t)
    else tableHandles.delete(handleKey)
    return t
  }

  const existing = async (): Promise<Table | null> => {
    if (table?.isOpen()) return table
    try {
      return remember(await db.openTable(vectorStoreId))
    } catch (err) {
      if (isTableNotFound(err)) return null
      throw err
    }
  }

  // Reads of a store deleted meanwhile (by another process) see an empty store.
  const reading = async <T>(empty: T, fn: (t: Table) => Promise<T>): Promise<T> => {
    const t = await existing()
    if (!t) return empty
    try {
      return await fn(t)
    } catch (err) {
      if (!isTableNotFound(err)) throw err
      remember(null)
      return empty
    }
  }

  // File catalog (id → attributes) for filters, rebuilt when the table's version moves.
  let catalog: { version: number; files: Map<string, Attributes> } | null = null
  const filesMatching = async (t: Table, filter: AttributeFilter): Promise<string[]> => {
    const version = await t.version()
    if (catalog?.version !== version) {
      const rows = await t.query().where(`${COLUMNS.chunkIndex} = 0`).select([COLUMNS.fileId, COLUMNS.attributes]).toArray()
      catalog = { version, files: new Map(rows.map((r: { file_id: string; attributes: string }) => [r.file_id, parseAttributes(r.attributes)])) }
    }
    return [...catalog.files].filter(([, attrs]) => matchesFilter(attrs, filter)).map(([id]) => id)
  }

  const writable = async (dimensions: number | null): Promise<Table> => {
    let t = await existing()
    if (!t) {
      t = remember(await db.createEmptyTable(vectorStoreId, chunkSchema(dimensions), { mode: 'create', existOk: true }))
      if (!(await t.indexStats(FTS_INDEX))) await createEmptyIndexes(t)
    }
    const schema = await t.schema()
    // Made before the column existed: add it, so this write's rows carry their CJK terms (older rows keep null until re-ingested).
    if (!hasCjkTermsColumn(schema)) await t.addColumns(cjkTermsField())
    const have = vectorDimensions(schema)
    if (dimensions !== null && have === null) {
      // Created keyword-only, now given vectors (an embedding model was configured later): add the column; old rows keep null vectors.
      await t.addColumns(vectorField(dimensions))
    } else if (dimensions !== null && have !== dimensions) {
      throw new RangeError(
        `Vector store ${vectorStoreId} holds ${have}-dimensional vectors; the embedding model gave ${dimensions}. Re-index the store with one model.`,
      )
    }
    return t
  }

  const fileWhere = (fileId: string) => {
    assertSafeId('file id', fileId)
    return `${COLUMNS.fileId} = ${sqlString(fileId)}`
  }
  // Ids already checked by fileWhere.
  const filesWhere = (fileIds: readonly string[]) =>
    fileIds.length === 1 ? `${COLUMNS.fileId} = ${sqlString(fileIds[0]!)}` : `${COLUMNS.fileId} IN (${fileIds.map(sqlString).join(', ')})`

  const index: VectorIndex = {
    vectorStoreId,

    async replaceFileChunks(fileId, chunks, meta) {
      const [written] = await index.replaceFilesChunks([{ fileId, chunks, filename: meta.filename, attributes: meta.attributes ?? null }])
      return written!
    },

    async replaceFilesChunks(files, opts = {}) {
      const ids = new Set<string>()
      let width: number | null | undefined
      const prepared = files.map((file) => {
        fileWhere(file.fileId) // validates the id
        if (ids.has(file.fileId)) throw new RangeError(`replaceFilesChunks: file ${file.fileId} given twice.`)
        ids.add(file.fileId)
        const vectors = file.chunks.map((c) => (c.vector ? normalize(c.vector) : null))
        for (const v of vectors) {
          const w = v?.length ?? null
          if (width === undefined) width = w
          if (w !== width || w === 0) throw new RangeError('replaceFilesChunks: every chunk needs a vector of the same width, or none does.')
        }
        return { file, vectors }
      })
      const empty = prepared.filter((p) => p.file.chunks.length === 0).map((p) => p.file.fileId)
      const full = prepared.filter((p) => p.file.chunks.length > 0)
      if (empty.length > 0) {
        const t = await existing()
        if (t) await t.delete(filesWhere(empty))
      }
      if (full.length > 0) {
        const dims = width ?? null
        const t = await writable(dims)
        const hasVectorColumn = vectorDimensions(await t.schema()) !== null
        const rows: ChunkRow[] = []
        for (const { file, vectors } of full) {
          const attributes = JSON.stringify(file.attributes ?? {})
          file.chunks.forEach((chunk, i) =>
            rows.push({
              id: `${file.fileId}:${i}`,
              fileId: file.fileId,
              chunkIndex: i,
              filename: file.filename,
              attributes,
              text: chunk.text,
              vector: hasVectorColumn ? vectors[i]! : null,
            }),
          )
        }
        const batch = chunkBatch(await t.schema(), rows)
        const where = filesWhere(full.map((p) => p.file.fileId))
        // None of the files in the index yet (the usual case) is a plain append: half the CPU of a
        // merge, whose join reads every chunk id of the store. Any already there (a retry after a
        // crash, a re-index) makes it one merge over all of them, atomically replacing their chunks.
        if ((await t.countRows(where)) === 0) await t.add(batch)
        else await t.mergeInsert(COLUMNS.id).whenMatchedUpdateAll().whenNotMatchedInsertAll().whenNotMatchedBySourceDelete({ where }).execute(batch)
        if (autoMaintain) {
          const cjk = rows.some((r) => hasCjk(r.text))
          const maintenance = afterMaintenance(t, () => maintainIndexes(t, { vectorIndexMinRows, cjk }))
          if (opts.background) maintenance.catch((err: Error) => options.onMaintenanceError?.(err))
          else await maintenance
        }
      }
      return prepared.map(({ file }) => ({
        chunks: file.chunks.length,
        usageBytes: file.chunks.reduce((n, c) => n + Buffer.byteLength(c.text, 'utf8') + (width ?? 0) * 4, 0),
      }))
    },

    async deleteFile(fileId) {
      const where = fileWhere(fileId)
      const t = await existing()
      if (!t) return
      await t.delete(where)
    },

    async updateAttributes(fileId, attributes) {
      const where = fileWhere(fileId)
      const t = await existing()
      if (!t) return
      // `values` are turned into SQL literals by LanceDB (toSQL: quotes doubled); the JSON is one string literal.
      await t.update({ where, values: { [COLUMNS.attributes]: JSON.stringify(attributes ?? {}) } })
    },

    async fileChunks(fileId) {
      const where = fileWhere(fileId)
      return reading([], async (t) => {
        const rows = await t.query().where(where).select([COLUMNS.chunkIndex, COLUMNS.text]).toArray()
        return rows.map((r: { chunk_index: number; text: string }) => ({ index: r.chunk_index, text: r.text })).sort((a, b) => a.index - b.index)
      })
    },

    async usageBytes() {
      return reading(0, async (t) => (await t.stats()).totalBytes)
    },

    async search(params) {
      const maxNumResults = params.maxNumResults ?? DEFAULT_MAX_NUM_RESULTS
      if (!Number.isInteger(maxNumResults) || maxNumResults < 1 || maxNumResults > MAX_NUM_RESULTS) {
        throw new RangeError(`max_num_results must be an integer from 1 to ${MAX_NUM_RESULTS}.`)
      }
      const scoreThreshold = params.scoreThreshold ?? 0
      if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) throw new RangeError('score_threshold must be between 0 and 1.')
      const queries = params.queries.filter((q) => q.trim() !== '')
      if (queries.length === 0) return []
      return reading([], async (t) => {
        let allowed: string[] | null = params.fileIds ? params.fileIds.filter(isSafeId) : null
        if (params.filters) {
          const matching = await filesMatching(t, params.filters)
          allowed = allowed ? allowed.filter((id) => matching.includes(id)) : matching
        }
        if (allowed && allowed.length === 0) return []
        const where = allowed ? `${COLUMNS.fileId} IN (${allowed.map(sqlString).join(', ')})` : null
        const { dimensions, cjkTerms } = await searchColumns(t)
        const queryVectors = await queryVectorsFor(queries, params.queryVectors, embedder, dimensions, params.signal)
        return rankedSearch(t, dimensions !== null, {
          queries,
          cjkTerms,
          queryVectors,
          maxNumResults,
          ranker: params.ranker ?? 'auto',
          scoreThreshold,
          where,
        })
      })
    },

    async optimize() {
      const t = await existing()
      if (t) await afterMaintenance(t, () => maintainIndexes(t, { force: true, vectorIndexMinRows }))
    },

    async maintain(opts) {
      const t = await existing()
      if (t) await afterMaintenance(t, () => maintainIndexes(t, { idle: opts.idle, vectorIndexMinRows }))
    },
  }
  return index
}

const tableHandles = new Map<string, Table>()

// The latest maintenance of each table handle (handles are shared per process and store): the
// next starts once it has settled, either way, so a `background` write's maintenance and the
// writer's later ones never run two at a time (two would fold the same rows in twice).
const maintenanceChain = new WeakMap<Table, Promise<unknown>>()
function afterMaintenance(t: Table, run: () => Promise<void>): Promise<void> {
  const next = (maintenanceChain.get(t) ?? Promise.resolve()).catch(() => {}).then(run)
  maintenanceChain.set(t, next)
  return next
}

// Vector width and the cjk_terms column per table handle, once it has both: a column is never
// dropped and its width never changes (writes of another width are refused), so a search need not
// decode the table's schema each time (a native call and an IPC decode). Stores without either are
// checked on every search: the writer may add the column meanwhile.
const knownColumns = new WeakMap<Table, { dimensions: number; cjkTerms: true }>()
async function searchColumns(t: Table): Promise<{ dimensions: number | null; cjkTerms: boolean }> {
  const known = knownColumns.get(t)
  if (known) return known
  const schema = await t.schema()
  const dimensions = vectorDimensions(schema)
  const cjkTerms = hasCjkTermsColumn(schema)
  if (dimensions !== null && cjkTerms) knownColumns.set(t, { dimensions, cjkTerms })
  return { dimensions, cjkTerms }
}

/** Deletes a vector store's whole index (no-op when it has none). */
export async function dropVectorIndex(location: IndexLocation, vectorStoreId: string): Promise<void> {
  assertSafeId('vector store id', vectorStoreId)
  const db = await connectionFor(location)
  const suffix = `\u0000${vectorStoreId}`
  for (const key of [...tableHandles.keys()]) if (key.endsWith(suffix) && key.startsWith(`${location.uri}\u0000`)) tableHandles.delete(key)
  try {
    await db.dropTable(vectorStoreId)
  } catch (err) {
    if (!isTableNotFound(err)) throw err
  }
}
