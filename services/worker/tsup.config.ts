import { defineConfig } from 'tsup'

// Services are the only things we build. Workspace packages export TypeScript source, so they
// are bundled in (noExternal); third-party dependencies stay external and load from node_modules.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  noExternal: [/^@threadwork\//],
  // Everything else (including the workspace packages' own dependencies) loads from node_modules.
  external: [/^(?!@threadwork\/)[^./]/],
  // Lua scripts are imported as text so one source file serves tests (vitest plugin) and builds.
  loader: { '.lua': 'text' },
})
