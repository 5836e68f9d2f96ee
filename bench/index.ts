/**
 * `pnpm bench [name…]`: runs every `bench/*.bench.ts` module in turn (alphabetical), or only those
 * whose file name contains one of the arguments. A bench module exports
 * `async function run(): Promise<void>`, prints its own table, never asserts timing and removes
 * the Redis keys it wrote. Adding a benchmark is adding a file; nothing here lists them.
 */
import { readdir } from 'node:fs/promises'
import { register } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

// Before any workspace package loads: storage imports its Lua scripts as text.
register('./lua-text-hooks.mjs', import.meta.url)

interface BenchModule {
  run(): Promise<void>
}

const dir = fileURLToPath(new URL('.', import.meta.url))
const filters = process.argv.slice(2).filter((a) => a !== '--')
const files = (await readdir(dir))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()

if (files.length === 0) {
  console.error(`No bench/*.bench.ts module matches ${filters.join(', ') || '(none found)'}.`)
  process.exit(1)
}

console.log(`# Threadwork benchmarks — node ${process.version}, ${new Date().toISOString()}`)
let failed = 0
for (const file of files) {
  const started = performance.now()
  console.log(`\n# ${file}`)
  try {
    const mod = (await import(pathToFileURL(`${dir}${file}`).href)) as Partial<BenchModule>
    if (typeof mod.run !== 'function') throw new Error(`${file} does not export \`async function run()\``)
    await mod.run()
    console.log(`\n(${file}: ${((performance.now() - started) / 1000).toFixed(1)} s)`)
  } catch (err) {
    failed++
    console.error(`\n${file} failed:`, err)
  }
}
// Open handles (a forgotten connection) must not keep `pnpm bench` from finishing.
process.exit(failed > 0 ? 1 : 0)
