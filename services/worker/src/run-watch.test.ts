import { afterEach, describe, expect, it } from 'vitest'
import { type RunWatch, createRunWatch } from './run-watch.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('run watch', () => {
  let watch: RunWatch | null = null
  afterEach(() => watch?.close())

  function start(statuses: Record<string, string> = {}, statusCheckMs = 60_000) {
    const aborted: [string, string][] = []
    const reads: string[] = []
    watch = createRunWatch({
      abort: (runId, reason) => aborted.push([runId, reason]),
      readStatus: async (_thread, runId) => {
        reads.push(runId)
        return statuses[runId] ?? null
      },
      statusCheckMs,
    })
    return { watch, aborted, reads }
  }

  it('ends each run at its own deadline, earliest first, whatever order they came in; an unwatched run is left alone', async () => {
    const { watch, aborted } = start()
    const now = Date.now()
    watch.watch('run_late', 't', now + 120)
    watch.watch('run_never', 't', null)
    watch.watch('run_early', 't', now + 40)
    const unwatch = watch.watch('run_done', 't', now + 60)
    unwatch()
    await sleep(80)
    expect(aborted).toEqual([['run_early', 'expired']])
    await sleep(80)
    expect(aborted).toEqual([
      ['run_early', 'expired'],
      ['run_late', 'expired'],
    ])
    expect(watch.size).toBe(1)
  })

  it("re-reads the statuses of runs driven longer than statusCheckMs and aborts a cancelling one as 'cancelled'", async () => {
    const { watch, aborted, reads } = start({ run_c: '"cancelling"', run_p: '"in_progress"' }, 50)
    watch.watch('run_c', 't', null)
    watch.watch('run_p', 't', null)
    await sleep(130)
    // Re-read every tick while driven (an abort is idempotent): only the cancelling run is aborted.
    expect(new Set(aborted.map((a) => a.join(' ')))).toEqual(new Set(['run_c cancelled']))
    expect(reads).toContain('run_p')
  })
})
