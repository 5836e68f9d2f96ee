import { z } from '@hono/zod-openapi'

/** OpenAI's `auto` strategy today: 800-token chunks with 400 overlapping (files-vector-stores.yaml). */
export const AUTO_CHUNK_TOKENS = 800
export const AUTO_CHUNK_OVERLAP = 400

export const StaticChunkingStrategy = z
  .strictObject({
    max_chunk_size_tokens: z.number().int().min(100).max(4096),
    chunk_overlap_tokens: z.number().int().min(0),
  })
  .superRefine((s, ctx) => {
    // "the overlap must not exceed half of `max_chunk_size_tokens`" (StaticChunkingStrategy in the spec).
    if (s.chunk_overlap_tokens > s.max_chunk_size_tokens / 2)
      ctx.addIssue({
        code: 'custom',
        path: ['chunk_overlap_tokens'],
        message: `Invalid 'chunk_overlap_tokens': must not exceed half of 'max_chunk_size_tokens' (${s.max_chunk_size_tokens}), but got ${s.chunk_overlap_tokens}.`,
        params: { openai: { code: 'invalid_value' } },
      })
  })
  .openapi('StaticChunkingStrategy')
export type StaticChunkingStrategy = z.infer<typeof StaticChunkingStrategy>

/** `{type:"auto"}` | `{type:"static", static:{max_chunk_size_tokens 100–4096, chunk_overlap_tokens ≤ half}}`. */
export const ChunkingStrategyParam = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('auto') }),
    z.strictObject({ type: z.literal('static'), static: StaticChunkingStrategy }),
  ])
  .openapi('ChunkingStrategyRequestParam')
export type ChunkingStrategyParam = z.infer<typeof ChunkingStrategyParam>

/** What a vector store file reports: always the resolved `static` form (`other` only for legacy files). */
export const ChunkingStrategy = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('static'), static: z.object({ max_chunk_size_tokens: z.number().int(), chunk_overlap_tokens: z.number().int() }) }),
    z.object({ type: z.literal('other') }),
  ])
  .openapi('ChunkingStrategyResponseParam')
export type ChunkingStrategy = z.infer<typeof ChunkingStrategy>

/** Resolves a request's strategy (absent or `auto` → 800/400) to the stored `static` form. */
export function resolveChunkingStrategy(param: ChunkingStrategyParam | undefined | null): Extract<ChunkingStrategy, { type: 'static' }> {
  if (param?.type === 'static') return { type: 'static', static: { ...param.static } }
  return { type: 'static', static: { max_chunk_size_tokens: AUTO_CHUNK_TOKENS, chunk_overlap_tokens: AUTO_CHUNK_OVERLAP } }
}
