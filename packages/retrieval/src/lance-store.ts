import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import * as lancedb from '@lancedb/lancedb'
import type * as Arrow from 'apache-arrow'
import { cjkTerms } from './cjk.js'

// LanceDB loads apache-arrow through `require`; an ESM `import` would load the package's second
// (ESM) build, whose classes fail LanceDB's `instanceof` checks (addColumns refuses the Field).
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof Arrow

/** Where the indexes live: a directory or object-store URI (`/data/lance`, `s3://bucket/prefix`) and LanceDB storage options (S3 endpoint, keys, region). */
export interface IndexLocation {
  uri: string
  storageOptions?: Record<string, string> | undefined
}

/** Column names of a store's chunk table (one table per vector store, one row per chunk). */
export const COLUMNS = {
  id: 'id', // `${file_id}:${chunk_index}`: the merge key that makes a file's rewrite idempotent
  fileId: 'file_id',
  chunkIndex: 'chunk_index',
  filename: 'filename',
  attributes: 'attributes', // JSON of the file's attributes (filters are evaluated in JS, see filters.ts)
  text: 'text',
  vector: 'vector', // unit-length float32, absent (null) in keyword-only mode
  cjkTerms: 'cjk_terms', // the text's CJK bigrams (cjk.ts), '' without CJK; null in rows written before the column existed
} as const

export const FTS_INDEX = `${COLUMNS.text}_idx`
export const VECTOR_INDEX = `${COLUMNS.vector}_idx`
export const CJK_INDEX = `${COLUMNS.cjkTerms}_idx`

/** The chunk table's schema; with a `vector` column of `dimensions` floats when given. */
export function chunkSchema(dimensions: number | null): Arrow.Schema {
  const fields: Arrow.Field[] = [
    new arrow.Field(COLUMNS.id, new arrow.Utf8(), false),
    new arrow.Field(COLUMNS.fileId, new arrow.Utf8(), false),
    new arrow.Field(COLUMNS.chunkIndex, new arrow.Int32(), false),
    new arrow.Field(COLUMNS.filename, new arrow.Utf8(), false),
    new arrow.Field(COLUMNS.attributes, new arrow.Utf8(), false),
    new arrow.Field(COLUMNS.text, new arrow.Utf8(), false),
    cjkTermsField(),
  ]
  if (dimensions) fields.push(vectorField(dimensions))
  return new arrow.Schema(fields)
}

export function vectorField(dimensions: number): Arrow.Field {
  return new arrow.Field(COLUMNS.vector, new arrow.FixedSizeList(dimensions, new arrow.Field('item', new arrow.Float32(), true)), true)
}

/** Nullable: tables made before it get it added (vector-index.ts), their rows null. */
export function cjkTermsField(): Arrow.Field {
  return new arrow.Field(COLUMNS.cjkTerms, new arrow.Utf8(), true)
}

/** Whether an opened table's schema has the `cjk_terms` column. */
export const hasCjkTermsColumn = (schema: Arrow.Schema): boolean => schema.fields.some((f) => f.name === COLUMNS.cjkTerms)

/** Vector width of an opened table's schema; null when it has no vector column. */
export function vectorDimensions(schema: Arrow.Schema): number | null {
  const field = schema.fields.find((f) => f.name === COLUMNS.vector)
  return field ? (field.type as Arrow.FixedSizeList).listSize : null
}

/** One row of the chunk table, as a write gives it. */
export interface ChunkRow {
  id: string
  fileId: string
  chunkIndex: number
  filename: string
  attributes: string
  text: string
  /** Unit-length; null in keyword-only mode (then every row's is null). */
  vector: Float32Array | null
}

/**
 * The rows as an Arrow table of `schema` (the table's own, with or without a vector column),
 * built column by column: the vectors are copied once into one Float32Array under a
 * FixedSizeList. Handing LanceDB plain objects instead makes it infer and build every value
 * through Arrow's generic builders: twice the CPU of the whole append (bench/retrieval.bench.ts).
 * Vectors must all be present or all null (the caller checks), of the schema's width.
 */
export function chunkBatch(schema: Arrow.Schema, rows: readonly ChunkRow[]): Arrow.Table {
  const n = rows.length
  const utf8 = (pick: (r: ChunkRow) => string) => utf8Vector(rows.map(pick))
  const columns: Record<string, Arrow.Vector> = {
    [COLUMNS.id]: utf8((r) => r.id),
    [COLUMNS.fileId]: utf8((r) => r.fileId),
    [COLUMNS.chunkIndex]: arrow.makeVector(Int32Array.from(rows, (r) => r.chunkIndex)),
    [COLUMNS.filename]: utf8((r) => r.filename),
    [COLUMNS.attributes]: utf8((r) => r.attributes),
    [COLUMNS.text]: utf8((r) => r.text),
  }
  if (hasCjkTermsColumn(schema)) columns[COLUMNS.cjkTerms] = utf8((r) => cjkTerms(r.text))
  const vectorType = schema.fields.find((f) => f.name === COLUMNS.vector)?.type as Arrow.FixedSizeList | undefined
  if (vectorType) {
    const width = vectorType.listSize
    const flat = new Float32Array(n * width)
    const present = rows.length > 0 && rows[0]!.vector !== null
    if (present) rows.forEach((r, i) => flat.set(r.vector!, i * width))
    const child = arrow.makeData({ type: vectorType.children[0]!.type as Arrow.Float32, length: n * width, data: flat })
    columns[COLUMNS.vector] = arrow.makeVector(
      present
        ? arrow.makeData({ type: vectorType, length: n, nullCount: 0, child })
        : arrow.makeData({ type: vectorType, length: n, nullCount: n, nullBitmap: new Uint8Array(Math.ceil(n / 8)), child }),
    )
  }
  return new arrow.Table(schema, columns as never)
}

/**
 * A Utf8 column from strings, written straight into one byte buffer with its offsets: Arrow's
 * `vectorFromArray` appends value by value through its builder (~50 ms of the worker's CPU per
 * 6,800 chunks of 800 tokens, the text column most of it; this is a few ms). No nulls. Throws
 * RangeError past 2 GiB of UTF-8 (Utf8's 32-bit offsets).
 */
export function utf8Vector(values: readonly string[]): Arrow.Vector<Arrow.Utf8> {
  const n = values.length
  const valueOffsets = new Int32Array(n + 1)
  let total = 0
  for (const v of values) total += Buffer.byteLength(v, 'utf8')
  if (total > 0x7fffffff) throw new RangeError(`utf8Vector: ${total} bytes of text exceed a Utf8 column's 2 GiB.`)
  // alloc, not allocUnsafe: a small allocUnsafe is a slice of a shared pool, which Arrow would serialise from.
  const data = Buffer.alloc(total)
  let at = 0
  for (let i = 0; i < n; i++) {
    valueOffsets[i] = at
    at += data.write(values[i]!, at, 'utf8')
  }
  valueOffsets[n] = at
  return arrow.makeVector(arrow.makeData({ type: new arrow.Utf8(), length: n, nullCount: 0, valueOffsets, data }))
}

/** The ids we put into SQL (`vs_…`, `file-…`): anything else is refused, so quoting is belt and braces. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/

export function assertSafeId(kind: string, id: string): void {
  if (!SAFE_ID.test(id)) throw new RangeError(`Invalid ${kind} '${id.slice(0, 140)}': expected 1-128 of A-Z a-z 0-9 _ -.`)
}

export const isSafeId = (id: string): boolean => SAFE_ID.test(id)

/** A SQL string literal (quotes doubled), for ids already checked by assertSafeId. */
export const sqlString = (value: string): string => `'${value.replace(/'/g, "''")}'`

const connections = new Map<string, Promise<lancedb.Connection>>()

/**
 * The process's one LanceDB connection per location. `readConsistencyInterval: 0`: every read
 * checks for a newer table version, because the writer (an ingestion worker) is usually another
 * process than the reader (the API's search endpoint, a run's file_search) — a search right after
 * a file completes must see it. On local disk the check is a directory listing; on S3 a LIST.
 */
export function connectionFor(location: IndexLocation): Promise<lancedb.Connection> {
  ensureLanceCpuThreads()
  const options = location.storageOptions ?? {}
  const key = `${location.uri}\u0000${JSON.stringify(Object.entries(options).sort())}`
  let connection = connections.get(key)
  if (!connection) {
    connection = lancedb.connect(location.uri, { readConsistencyInterval: 0, storageOptions: options })
    connection.catch(() => connections.delete(key))
    connections.set(key, connection)
  }
  return connection
}

/**
 * Gives Lance's CPU pool at least two threads. Lance sizes it `cores − 2` (LANCE_IO_CORE_RESERVATION),
 * at least 1: one thread on a 2-core host, where building an FTS index over more than one
 * posting-list batch deadlocks — the producer parks its only pool thread on a full channel while
 * the consumer's page encoding waits for a pool thread (lancedb/lancedb#3568, lance-format/lance#7350;
 * seen here: `optimize` at 100,000 chunks stalled at 0 % CPU for minutes, gdb showed the lance-cpu
 * thread in `EventListenerFuture::wait`). With 2 threads it built in seconds. Lance reads the
 * variable once, when its CPU runtime starts (first use, after this), so this must run before
 * the first LanceDB call; an operator's own LANCE_CPU_THREADS is kept.
 */
function ensureLanceCpuThreads(): void {
  if (process.env.LANCE_CPU_THREADS === undefined && availableParallelism() - 2 < 2) process.env.LANCE_CPU_THREADS = '2'
}

/**
 * Whether an error says the table is gone: LanceDB's "Table '…' was not found" on open, or
 * Lance's "Not found: ….lance/_versions" from a handle whose table another process dropped.
 */
export function isTableNotFound(err: unknown): boolean {
  return err instanceof Error && (/Table '.*' was not found/.test(err.message) || /Not found: \S*\.lance\//.test(err.message))
}

export { arrow, lancedb }
