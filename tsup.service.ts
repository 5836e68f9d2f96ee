import { defineConfig } from 'tsup'

/**
 * The build of every service. Services are the only things we build: workspace packages export
 * TypeScript source and are bundled in (noExternal); everything else — including the workspace
 * packages' own dependencies — loads from node_modules, so each service lists those too.
 */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  noExternal: [/^@threadwork\//],
  external: [/^(?!@threadwork\/)[^./]/],
  // Lua scripts are imported as text so one source file serves tests (vitest plugin) and builds.
  loader: { '.lua': 'text' },
})
