import { describe, expect, it } from 'vitest'
import { badObjectId } from './object-ids.js'

describe('badObjectId', () => {
  it('passes ids as they are handed out', () => {
    expect(badObjectId({ thread_id: 'thread_abcDEF012', run_id: 'run_x', file_id: 'file-AbC123', vector_store_id: 'vs_1' })).toBeNull()
  })

  it("refuses the first that cannot be one with that object's 404, in its store's words", () => {
    expect(badObjectId({ thread_id: 'thread_a', run_id: 'run_b:steps' })?.message).toBe("No run found with id 'run_b:steps'.")
    expect(badObjectId({ file_id: 'file-a:b' })?.message).toBe('No such File object: file-a:b')
    expect(badObjectId({ upload_id: 'upload_a/b' })?.message).toBe('No such Upload object: upload_a/b')
    expect(badObjectId({ webhook_endpoint_id: 'callback:deliveries' })?.status).toBe(404)
  })

  it('leaves model names alone: they have colons (llama3:8b, ft:gpt-4o:org:x)', () => {
    expect(badObjectId({ model: 'llama3:8b' })).toBeNull()
    expect(badObjectId({ model: 'ft:gpt-4o:org:x' })).toBeNull()
  })
})
