import { z } from '@hono/zod-openapi'
import { describeJsonType } from '../shared.js'

/** Deepest nesting of compound filters accepted; deeper is a 400 (bounds the work a filter can ask for). */
export const MAX_FILTER_DEPTH = 8

const ComparisonOp = z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin'])

/** `{type: eq|ne|gt|gte|lt|lte|in|nin, key, value}`; `in`/`nin` take an array of strings or numbers. */
export const ComparisonFilter = z
  .strictObject({
    type: ComparisonOp,
    key: z.string().min(1),
    value: z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]),
  })
  .superRefine((f, ctx) => {
    const isArray = Array.isArray(f.value)
    if ((f.type === 'in' || f.type === 'nin') !== isArray)
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `Invalid type for 'value': '${f.type}' expects ${isArray ? 'a string, a number or a boolean' : 'an array'}, but got ${describeJsonType(f.value)} instead.`,
        params: { openai: { code: 'invalid_type' } },
      })
  })
  .openapi('ComparisonFilter')
export type ComparisonFilter = z.infer<typeof ComparisonFilter>

export type CompoundFilter = { type: 'and' | 'or'; filters: (ComparisonFilter | CompoundFilter)[] }
export type AttributeFilter = ComparisonFilter | CompoundFilter

// A hand-written recursive shape: zod's getter form types it, z.lazy keeps /openapi.json finite.
const FilterNode: z.ZodType<AttributeFilter> = z.lazy(() => z.union([ComparisonFilter, CompoundFilterSchema]))
const CompoundFilterSchema: z.ZodType<CompoundFilter> = z
  .strictObject({ type: z.enum(['and', 'or']), filters: z.array(FilterNode) })
  .openapi('CompoundFilter') as unknown as z.ZodType<CompoundFilter>
export const CompoundFilter = CompoundFilterSchema

const depthOf = (f: AttributeFilter): number => ('filters' in f ? 1 + Math.max(0, ...f.filters.map(depthOf)) : 0)

/** A comparison, or `and`/`or` over filters (nested at most {@link MAX_FILTER_DEPTH} deep). */
export const AttributeFilterSchema = z.union([ComparisonFilter, CompoundFilterSchema]).superRefine((f, ctx) => {
  if (depthOf(f) > MAX_FILTER_DEPTH)
    ctx.addIssue({
      code: 'custom',
      message: `Invalid 'filters': nested more than ${MAX_FILTER_DEPTH} levels deep.`,
      params: { openai: { code: 'invalid_value' } },
    })
})

export const SearchRankingOptions = z.strictObject({
  ranker: z.enum(['none', 'auto', 'default-2024-11-15']).optional(),
  score_threshold: z.number().min(0).max(1).optional(),
})
export type SearchRankingOptions = z.infer<typeof SearchRankingOptions>

export const VectorStoreSearchParams = z
  .strictObject({
    query: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(10)]),
    rewrite_query: z.boolean().optional(),
    max_num_results: z.number().int().min(1).max(50).optional(),
    filters: AttributeFilterSchema.optional(),
    ranking_options: SearchRankingOptions.optional(),
  })
  .openapi('VectorStoreSearchRequest')
export type VectorStoreSearchParams = z.infer<typeof VectorStoreSearchParams>

export const VectorStoreSearchResult = z
  .object({
    file_id: z.string(),
    filename: z.string(),
    score: z.number().min(0).max(1),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
    content: z.array(z.object({ type: z.literal('text'), text: z.string() })),
  })
  .openapi('VectorStoreSearchResultItem')
export type VectorStoreSearchResult = z.infer<typeof VectorStoreSearchResult>

export const VectorStoreSearchResultsPage = z
  .object({
    object: z.literal('vector_store.search_results.page'),
    search_query: z.array(z.string()),
    data: z.array(VectorStoreSearchResult),
    has_more: z.boolean(),
    next_page: z.string().nullable(),
  })
  .openapi('VectorStoreSearchResultsPage')
export type VectorStoreSearchResultsPage = z.infer<typeof VectorStoreSearchResultsPage>
