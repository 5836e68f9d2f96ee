import { createHash, type Hash } from 'node:crypto'
import { Transform } from 'node:stream'
import { ApiError } from '@threadwork/domain'

/** OpenAI-style 413 for a body over `max` bytes; `what` names the thing ("File", "Part"). */
export const tooLarge = (what: string, max: number) =>
  new ApiError(413, `${what} is too large: the limit is ${max} bytes.`, { param: what === 'File' ? 'file' : 'data', code: 'file_too_large' })

/**
 * A pass-through that fails with {@link tooLarge} as soon as more than `max` bytes went through,
 * so an oversized body is cut off mid-stream instead of being stored first. Optionally hashes
 * what passes (MD5 for the Uploads API's `md5` check).
 */
export function byteLimit(max: number, what: string, hash?: Hash): Transform & { readonly bytes: number } {
  let bytes = 0
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length
      if (bytes > max) return cb(tooLarge(what, max))
      hash?.update(chunk)
      cb(null, chunk)
    },
  })
  Object.defineProperty(t, 'bytes', { get: () => bytes })
  return t as Transform & { readonly bytes: number }
}

export const md5 = () => createHash('md5')
