import type { Message } from '@threadwork/domain'

/** Image types chat models read (OpenAI vision: PNG, JPEG, GIF, WebP). */
const VISION_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp'])
/** OpenAI's per-image limit for vision input. */
const MAX_IMAGE_BYTES = 20 * 1024 * 1024

/** Reads a File's bytes and content type (packages/files' `openContent`); throws when it is gone. */
export type ReadFile = (project: string, fileId: string) => Promise<{ contentType: string; bytes: Buffer }>

/**
 * The thread's user messages with each `image_file` part turned into an `image_url` part carrying
 * the File's bytes as a data URL, so the model sees the image (issue 12 item 11). A File that is
 * gone, too large or not an image keeps its `image_file` part (the prompt then says it is not
 * available). Messages without image files are returned as they are, with no read.
 */
export async function withImageData(messages: Message[], project: string, read: ReadFile): Promise<Message[]> {
  if (!messages.some((m) => m.role === 'user' && m.content.some((p) => p.type === 'image_file'))) return messages
  const cache = new Map<string, Promise<string | null>>()
  const dataUrl = (fileId: string) => {
    let url = cache.get(fileId)
    if (!url) {
      url = read(project, fileId).then(
        ({ contentType, bytes }) => (VISION_TYPES.has(contentType) && bytes.length <= MAX_IMAGE_BYTES ? `data:${contentType};base64,${bytes.toString('base64')}` : null),
        () => null,
      )
      cache.set(fileId, url)
    }
    return url
  }
  return Promise.all(
    messages.map(async (m) => {
      if (m.role !== 'user' || !m.content.some((p) => p.type === 'image_file')) return m
      const content = await Promise.all(
        m.content.map(async (part) => {
          if (part.type !== 'image_file') return part
          const url = await dataUrl(part.image_file.file_id)
          return url ? { type: 'image_url' as const, image_url: { url, detail: part.image_file.detail ?? 'auto' } } : part
        }),
      )
      return { ...m, content }
    }),
  )
}
