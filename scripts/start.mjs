#!/usr/bin/env node
// @ts-check
/**
 * `pnpm start` — build the three services, find or start Redis, and run api, worker and webhooks
 * in one terminal with prefixed output. Ctrl-C stops them gracefully (30 s, then SIGKILL).
 *
 *   pnpm start                  build (turbo, cached) then run
 *   pnpm start -- --skip-build  run the existing dist/ as is
 *
 * Redis: REDIS_URL if set (also read from .env), else a Redis on 127.0.0.1:6379, else a
 * `redis-server` child with AOF in .data/redis, else exit 1 with how to get one.
 * The logic lives in scripts/lib/ and is tested in test/infra/ (launcher, supervisor, embedded-redis, … .test.ts).
 */
import { fileURLToPath } from 'node:url'
import { runLauncher } from './lib/launcher.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.exitCode = await runLauncher({ root, argv: process.argv.slice(2) })
