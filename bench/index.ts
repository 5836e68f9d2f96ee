/**
 * `pnpm bench [name…] [--scale <x>] [--help]`: runs every `bench/*.bench.ts` module in turn
 * (alphabetical), or only those whose file name contains one of the names. `--scale 0.1` shrinks
 * the loads of the benches that read it (`scaled()` in lib.ts), for a quick look on a busy machine. A bench module exports
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
const args = process.argv.slice(2).filter((a) => a !== '--')
const scaleAt = args.findIndex((a) => a === '--scale' || a.startsWith('--scale='))
if (scaleAt >= 0) {
  const [flag, inline] = args[scaleAt]!.split('=')
  const value = inline ?? args[scaleAt + 1]
  if (!(Number(value) > 0)) {
    console.error(`${flag} takes a positive number, e.g. --scale 0.1`)
    process.exit(1)
  }
  process.env.BENCH_SCALE = value
  args.splice(scaleAt, inline === undefined ? 2 : 1)
}
const all = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).sort()
if (args.includes('--help') || args.includes('-h')) {
  // Each module's first doc-comment line says what it measures (read as text: importing loads the services' code).
  const { readFile } = await import('node:fs/promises')
  const about = async (f: string) => {
    const doc = /\/\*\*([\s\S]*?)\*\//.exec(await readFile(`${dir}${f}`, 'utf8'))?.[1] ?? ''
    const text = doc.split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim()).join(' ').replace(/\s+/g, ' ').trim()
    const sentence = /^(.+?[^\d\s]\.)(\s|$)/.exec(text)?.[1] ?? text
    return sentence.length > 110 ? `${sentence.slice(0, 109)}…` : sentence
  }
  console.log('usage: pnpm bench [name…] [--scale <x>]\n\nbenches (a name runs those whose file name contains it):')
  for (const f of all) console.log(`  ${f.replace(/\.bench\.ts$/, '').padEnd(12)} ${await about(f)}`)
  console.log('\n--scale <x>  multiply the load sizes of benches that support it (cost), e.g. 0.1 on a busy machine')
  console.log(`
Each bench prints a table of figures beside baselines measured in the same run (compare machines
by the ratios) and its own duration; nothing is asserted. They start real services on random
ports and a fake upstream model, write only to Redis at REDIS_URL (default 127.0.0.1:6379) under
fresh key prefixes they delete at the end, and write files only under $TMPDIR, removed at the end
(cost: a private redis-server; retrieval: LanceDB tables), except sandbox's first run, which installs
its Python environment into .data/sandbox-venv (kept; pnpm start uses it too); output goes to stdout
(\`pnpm bench > bench.txt\` keeps it). They load the machine: run them on a quiet one.`)
  process.exit(0)
}
const filters = args
const files = all.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))

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
