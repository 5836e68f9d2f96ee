// Module hooks for `pnpm bench`: storage imports its Lua scripts as text (vitest and tsup do the
// same with a plugin/loader), which plain Node cannot load. Registered by bench/index.ts.
import { readFile } from 'node:fs/promises'

export async function load(url, context, nextLoad) {
  if (url.endsWith('.lua')) {
    const source = await readFile(new URL(url), 'utf8')
    return { format: 'module', source: `export default ${JSON.stringify(source)}`, shortCircuit: true }
  }
  return nextLoad(url, context)
}
