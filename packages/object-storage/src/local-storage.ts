import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type LocalStorageConfig, type ObjectStorage, ObjectNotFoundError, assertValidKey } from './object-storage.js'

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT'

/**
 * Objects as files under `root/objects/<key>`. A put streams into `root/tmp/<random>` and renames
 * into place once the body ended, so readers never see a partial object and a failed body leaves
 * nothing (rename is atomic within one filesystem). LanceDB databases live in `root/lance/<name>`.
 */
export function createLocalStorage(config: LocalStorageConfig): ObjectStorage {
  const root = resolve(config.root)
  const objects = join(root, 'objects')
  const tmp = join(root, 'tmp')
  const pathOf = (key: string) => {
    assertValidKey(key)
    return join(objects, key)
  }

  return {
    async put(key, body) {
      // The body may fail while the directories are made below; pipeline() still sees that error
      // (it checks the stream's errored state), this listener only keeps it from being "unhandled".
      if (!(body instanceof Uint8Array)) body.on('error', () => {})
      const target = pathOf(key)
      await mkdir(tmp, { recursive: true })
      await mkdir(dirname(target), { recursive: true })
      const temp = join(tmp, `${randomBytes(12).toString('hex')}.part`)
      let bytes = 0
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length
          cb(null, chunk)
        },
      })
      try {
        // Opened before the body flows: pipeline() rejects at the body's first error without
        // waiting for the file's open, which could then create it after the rm below had found
        // nothing (a CI run of files.e2e left such a .part behind). Open first, the rm always
        // comes after it; unlinking the still-open file is fine.
        const file = createWriteStream(temp, { flags: 'wx' })
        await once(file, 'ready')
        const source = body instanceof Uint8Array ? Readable.from([body]) : body
        await pipeline(source, counter, file)
        await rename(temp, target)
      } catch (err) {
        await rm(temp, { force: true })
        throw err
      }
      return { bytes }
    },

    async get(key) {
      const path = pathOf(key)
      // Open first so a missing object is an error here, not later on the stream.
      try {
        await stat(path)
      } catch (err) {
        if (isMissing(err)) throw new ObjectNotFoundError(key)
        throw err
      }
      return createReadStream(path)
    },

    async getBytes(key) {
      try {
        return await readFile(pathOf(key))
      } catch (err) {
        if (isMissing(err)) throw new ObjectNotFoundError(key)
        throw err
      }
    },

    async head(key) {
      try {
        const s = await stat(pathOf(key))
        return s.isFile() ? { bytes: s.size } : null
      } catch (err) {
        if (isMissing(err)) return null
        throw err
      }
    },

    async delete(key) {
      await rm(pathOf(key), { force: true })
    },

    lanceLocation(name) {
      assertValidKey(name)
      return { uri: join(root, 'lance', name), storageOptions: {} }
    },
  }
}
