import { ApiError } from '@threadwork/domain'

/** OpenAI's wording for an unknown file: `No such File object: file-abc123` (param `id`). */
export const fileNotFound = (id: string) => new ApiError(404, `No such File object: ${id}`, { param: 'id' })

/** By analogy with files: `No such Upload object: upload_abc123`. */
export const uploadNotFound = (id: string) => new ApiError(404, `No such Upload object: ${id}`, { param: 'upload_id' })

export const emptyFile = (param: string) => ApiError.invalid('The file is empty. Please upload a file with content.', param, 'empty_file')
