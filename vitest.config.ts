import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    {
      // Lua scripts live in .lua files (style §11) and are imported as text; tsup does the same
      // with its `text` loader, so tests and builds read one source.
      name: 'lua-as-text',
      transform(code, id) {
        if (id.endsWith('.lua')) return { code: `export default ${JSON.stringify(code)}`, map: null }
      },
    },
  ],
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files run in parallel; each test gets its own Redis key prefix (packages/test-utils).
    pool: 'forks',
  },
})
