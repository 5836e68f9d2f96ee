import { z } from 'zod'

/**
 * The sandbox service's HTTP contract (services/sandbox), shared by the service and this client.
 *
 * `POST /v1/execute` with `Authorization: Bearer <token>` and an {@link ExecuteRequest} body
 * answers `200 application/x-ndjson`: zero or more {@link WireOutputEvent} lines as the kernel
 * produces them, then exactly one {@link WireResultEvent} line. `POST /v1/interrupt` interrupts a
 * session's running execution; `DELETE /v1/sessions/:key` ends a session. Errors are
 * `{error: {message, code}}` with 400 / 401 / 409 / 503.
 */

/** Opaque session key (the worker uses project + thread): 1–256 printable ASCII characters. */
export const SessionKey = z.string().regex(/^[\x21-\x7e]{1,256}$/, 'must be 1-256 printable ASCII characters without spaces')

export const WireFile = z.object({
  /** Path relative to /mnt/data (inputs: a plain file name). */
  name: z.string().min(1).max(1024),
  /** File bytes, base64. */
  b64: z.string(),
})
export type WireFile = z.infer<typeof WireFile>

export const ExecuteRequest = z.object({
  sessionKey: SessionKey,
  code: z.string().max(1_000_000),
  files: z.array(WireFile).max(100).default([]),
  /** Wall time of this execution; the service caps it at its own maximum. */
  timeoutMs: z.number().int().positive().optional(),
  /** The caller recorded this session on this host: if it is gone, say so (sessionRestarted). */
  resume: z.boolean().default(false),
})
export type ExecuteRequest = z.input<typeof ExecuteRequest>

export const InterruptRequest = z.object({ sessionKey: SessionKey })

/** One output, as OpenAI's code_interpreter reports it (logs text, or a PNG image). */
export const WireOutput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('logs'), logs: z.string() }),
  z.object({ type: z.literal('image'), png: z.string() }),
])
export type WireOutput = z.infer<typeof WireOutput>

/**
 * How an execution ended: `ok`; `error` (the code raised: the traceback is in the logs);
 * `timeout` (wall time reached; interrupted, or the session killed); `cancelled` (interrupted on
 * request); `died` (the kernel died: the next call gets a fresh session).
 */
export const ExecutionStatus = z.enum(['ok', 'error', 'timeout', 'cancelled', 'died'])
export type ExecutionStatus = z.infer<typeof ExecutionStatus>

export const WireOutputEvent = z.object({ type: z.literal('output'), output: WireOutput })
export const WireResultEvent = z.object({
  type: z.literal('result'),
  status: ExecutionStatus,
  /** New or changed files under /mnt/data. */
  files: z.array(WireFile),
  sessionRestarted: z.boolean(),
  notice: z.string().optional(),
})
export type WireResultEvent = z.infer<typeof WireResultEvent>
export const WireEvent = z.discriminatedUnion('type', [WireOutputEvent, WireResultEvent])
export type WireEvent = z.infer<typeof WireEvent>

export const WireError = z.object({ error: z.object({ message: z.string(), code: z.string() }) })
