import {
  ApiError,
  type ListPage,
  type ListQuery,
  type Message,
  Run,
  type RunStatus,
  RunStep,
  type RunUpdateParams,
  newId,
  nowSeconds,
} from '@threadwork/domain'
import { decodeFields, encodeFields, flatFields } from './codec.js'
import { JsonOnce } from './json-once.js'
import type { Keys } from './keys.js'
import { listPage } from './paginate.js'
import { type RedisClient, runScript, script } from './scripts.js'
import { RunInternal, isLiveRun } from './run-plans.js'
import { DRAIN_GROUP } from './thread-wakeups.js'
import { messageArgs } from './thread-store.js'
import { DIRECT_CONSUMER_PREFIX, type DirectClaim, OUTBOX_GROUP, webhookFifoMember } from './webhook-direct-attempt.js'
import { CALLBACK_OWNER } from './webhook-delivery-log.js'
import claimThreadLua from './lua/claimThread-2.lua'
import commitRunLua from './lua/commitRun-6.lua'
import createRunLua from './lua/createRun-5.lua'
import updateObjectLua from './lua/updateObject-2.lua'

const claimThread = script('claimThread', claimThreadLua)
const commitRun = script('commitRun', commitRunLua)
const createRun = script('createRun', createRunLua)
const updateObject = script('updateObject', updateObjectLua)

/** OpenAI's thread-lock error for creating a run while another is active. */
export const threadHasActiveRun = (threadId: string, runId: string) => ApiError.invalid(`Thread ${threadId} already has an active run ${runId}.`)

/** An event recorded durably with a commit (the webhooks service delivers it). */
export interface OutboxEvent {
  type: string
  data: unknown
  /** A turn's own callback URL, delivered alongside the project's endpoints. */
  callbackUrl?: string | null
}

/** Everything one state change of a run writes, applied atomically by `commitRun-6.lua`. */
export interface CommitPlan {
  project: string
  /** The draining worker's fencing token; omitted for API-side transitions (cancel, expiry). */
  fence?: number
  /** The run must currently be in one of these statuses. */
  from: readonly RunStatus[]
  run?: Partial<Run>
  /** Internal run fields (`_round`, `_msg_id`, …), stored as raw strings. */
  internal?: Record<string, string>
  /** Upserted; a new one joins the thread's and the run's message lists. */
  messages?: Message[]
  /** Upserted; a new one joins the run's step list. */
  steps?: RunStep[]
  /** Partial updates of other objects (a turn following its run); skipped if the object is gone. */
  patches?: { key: string; fields: Record<string, unknown> }[]
  /** Mailbox item (`run:<id>` or `turn:<id>`) this commit finishes. */
  pop?: string
  /** Clear the thread's active run (the run reached a terminal status). */
  release?: boolean
  /** Mark the thread as having runnable work for the reconciler (the run is queued again). */
  pending?: boolean
  /**
   * With `pop`: the wake-up entry the draining worker holds. If the pop leaves the mailbox empty,
   * the entry is let go in the same step (saves the worker its release call; `released` says so).
   */
  letGo?: string
  events?: OutboxEvent[]
  /**
   * Take the commit's outbox entry for the caller's own first attempt of its one callback
   * (commitRun-6.lua `direct`; webhook-direct-attempt.ts): only when exactly one event has a
   * callback_url, no endpoint of the project subscribes to any of the events (the caller's
   * snapshot at webhook version `version`, checked in the script), and nothing earlier can be
   * overtaken. Single-node Redis only (the version key is in the project's slot).
   */
  direct?: { consumer: string; version: string }
  /**
   * Appended to the run's live event stream (what `stream: true` reads) in the same atomic step,
   * tagged with `fence` when set; `end` closes the stream segment with `done` (terminal status or
   * requires_action). So a committed state change is never without its live event.
   */
  live?: LiveAppend
}

/** Live events a commit appends: OpenAI's SSE `event` names and their `data`. */
export interface LiveAppend {
  events: { event: string; data: unknown }[]
  end?: boolean
}

export type CommitOutcome =
  | {
      ok: true
      /** With `plan.live` (and a live run): the live stream's last entry id before the commit ('0-0' if none). */
      liveFrom?: string
      /** With `plan.pop`: the mailbox head after it (null: empty), read under the fence the commit checked. */
      next?: string | null
      /** With `plan.letGo`: the wake-up entry was let go (the mailbox is empty; the drain is over). */
      released?: boolean
      /** With `plan.direct`, when the entry was taken: the callback's event, pending under the caller's consumer. */
      direct?: DirectClaim
      /** With `plan.direct` (an eligible commit, taken or not): the project's want of a callback slot (keys.ts `webhookWant`) when set. */
      want?: string
    }
  | { ok: false; reason: 'fenced' | 'gone' }
  | { ok: false; reason: 'status'; status: RunStatus }

/** How long a run's live event stream is kept after a segment ends (late readers, reconnects). */
export const LIVE_EVENTS_TTL_SECONDS = 3600

export interface LoadedRun {
  run: Run
  internal: Record<string, string>
}

export type RunStore = ReturnType<typeof createRunStore>

export function createRunStore(redis: RedisClient, k: Keys) {
  const threadNotFound = (id: string) => ApiError.notFound('thread', id)
  const notFound = (id: string) => ApiError.notFound('run', id)

  const internalOf = (raw: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const f in raw) if (f.startsWith('_')) out[f] = raw[f]!
    return out
  }

  return {
    /** Stores a `queued` run (after its additional messages) and puts it in the thread's mailbox. */
    async create(project: string, run: Run, additionalMessages: Message[] = [], internal: Record<string, string> = {}): Promise<void> {
      const t = run.thread_id
      const fields = flatFields(internal, encodeFields(run))
      // The live stream outlives the run's whole possible life, then the segment end sets its own TTL.
      const liveTtl = (run.expires_at !== null ? Math.max(0, run.expires_at - run.created_at) : 86_400) + LIVE_EVENTS_TTL_SECONDS
      const status = await runScript<string>(redis, createRun, [k.thread(t), k.messages(t), k.runs(t), k.mailbox(t), k.shardPending(t)], [
        project,
        run.id,
        k.messagePrefix(t),
        Date.now(),
        k.run(t, run.id),
        t,
        fields.length,
        ...fields,
        // A run nobody can stream (created without `stream: true`) gets no live stream.
        isLiveRun(internal) ? k.runEvents(t, run.id) : '',
        JSON.stringify(run),
        liveTtl,
        k.shardDeadlines(t),
        run.expires_at !== null ? run.expires_at * 1000 : '',
        ...messageArgs(additionalMessages),
      ])
      if (status === 'NOT_FOUND') throw threadNotFound(t)
      if (status.startsWith('ACTIVE:')) throw threadHasActiveRun(t, status.slice('ACTIVE:'.length))
    },

    async get(project: string, threadId: string, runId: string): Promise<Run> {
      const raw = await runScript<string[] | null>(redis, updateObject, [k.thread(threadId), k.run(threadId, runId)], [project])
      if (!raw) throw notFound(runId)
      return Run.parse(decodeFields(raw))
    },

    /** Reads a run with its internal fields, unscoped (workers already know the run is real). */
    async load(threadId: string, runId: string): Promise<LoadedRun | null> {
      const raw = await redis.hgetall(k.run(threadId, runId))
      if (!raw || Object.keys(raw).length === 0) return null
      return { run: Run.parse(decodeFields(raw)), internal: internalOf(raw) }
    },

    async update(project: string, threadId: string, runId: string, params: RunUpdateParams): Promise<Run> {
      const changes: Record<string, unknown> = { ...params }
      if (params.metadata === null) changes.metadata = {}
      const raw = await runScript<string[] | null>(redis, updateObject, [k.thread(threadId), k.run(threadId, runId)], [
        project,
        ...encodeFields(changes),
      ])
      if (!raw) throw notFound(runId)
      return Run.parse(decodeFields(raw))
    },

    list(project: string, threadId: string, query: ListQuery): Promise<ListPage<Run>> {
      return listPage(redis, {
        ownerKey: k.thread(threadId),
        indexKey: k.runs(threadId),
        objectPrefix: k.runPrefix(threadId),
        project,
        parse: (raw) => Run.parse(raw),
        notFound: () => threadNotFound(threadId),
      }, query)
    },

    async listSteps(project: string, threadId: string, runId: string, query: ListQuery): Promise<ListPage<RunStep>> {
      await this.get(project, threadId, runId)
      return listPage(redis, {
        ownerKey: k.thread(threadId),
        indexKey: k.steps(threadId, runId),
        objectPrefix: k.stepPrefix(threadId),
        project,
        parse: (raw) => RunStep.parse(raw),
        notFound: () => threadNotFound(threadId),
      }, query)
    },

    async getStep(project: string, threadId: string, runId: string, stepId: string): Promise<RunStep> {
      const raw = await runScript<string[] | null>(redis, updateObject, [k.thread(threadId), k.step(threadId, stepId)], [project])
      const step = raw ? RunStep.parse(decodeFields(raw)) : null
      if (!step || step.run_id !== runId) throw ApiError.notFound('run step', stepId)
      return step
    },

    /** A new fencing token for the thread, and its mailbox head. */
    async claim(threadId: string): Promise<{ fence: number; head: string | null }> {
      const [fence, head] = await runScript<[number, string | null]>(redis, claimThread, [k.fence(threadId), k.mailbox(threadId)], [])
      return { fence, head: head || null }
    },

    /** Applies `plan` atomically if the run is in one of `plan.from` (and the fence still holds). */
    async commit(threadId: string, runId: string, plan: CommitPlan): Promise<CommitOutcome> {
      // Each object is encoded once: its hash fields give the JSON its events carry (json-once.ts),
      // and every encoded value goes to the script as an argument of its own, not inside the plan's
      // JSON, where each would be escaped again and decoded again by Redis (issue 14).
      const json = new JsonOnce()
      // A release ends the run's hold on the thread's lock (`_lock`, startTurn-7.lua): a later commit looks again.
      const runFields = flatFields(plan.internal ?? {}, json.fields(plan.run ?? {}))
      if (plan.release) runFields.push(RunInternal.lock, '0')
      const nrun = runFields.length
      const values: string[] = runFields
      // The writes' part of the header (commitRun-6.lua ARGV[25..]): count, then per write key, id,
      // field/value count, patch flag, index count and index keys.
      const writes: string[] = []
      let nwrites = 0
      const write = (key: string, id: string, fields: string[], idx: string[], patch: '1' | '0') => {
        nwrites++
        writes.push(key, id, String(fields.length), patch, String(idx.length), ...idx)
        for (const f of fields) values.push(f)
      }
      for (const m of plan.messages ?? []) write(k.message(threadId, m.id), m.id, json.fields(m), [k.messages(threadId), k.runMessages(threadId, runId)], '0')
      for (const s of plan.steps ?? []) write(k.step(threadId, s.id), s.id, json.fields(s), [k.steps(threadId, runId)], '0')
      for (const p of plan.patches ?? []) write(p.key, '', encodeFields(p.fields), [], '1')
      // One event: an entry of its own, as ever. Several: one entry carrying them all, in order
      // (services/webhooks README "Event flow"): an XADD per commit, not per event (issue 14).
      const events = plan.events ?? []
      const evts = events.map(() => newId('evt'))
      if (events.length === 1) values.push(evts[0]!, events[0]!.type, json.stringify(events[0]!.data), events[0]!.callbackUrl ?? '')
      else if (events.length > 1) values.push(outboxEntry(events, evts, json))
      const withCallback = events.flatMap((e, i) => (e.callbackUrl ? [i] : []))
      const callbackAt = plan.direct && withCallback.length === 1 ? withCallback[0]! : null
      const shard = k.shardOf(threadId)
      const live = plan.live
      if (live) for (const e of live.events) values.push(e.event, json.stringify(e.data))
      const createdAt = String(nowSeconds())
      const fence = plan.fence === undefined ? '' : String(plan.fence)
      const direct =
        callbackAt !== null && plan.direct
          ? {
              group: OUTBOX_GROUP,
              consumer: plan.direct.consumer,
              prefix: DIRECT_CONSUMER_PREFIX,
              version_key: k.webhookVersion(plan.project),
              version: plan.direct.version,
              want_key: k.webhookWant(plan.project),
              fifo: k.webhookFifo(shard, CALLBACK_OWNER, threadId),
              evt: evts[callbackAt],
              sub: events.length > 1 ? callbackAt : -1,
            }
          : null
      // The header one item per argument, in commitRun-6.lua's order (ARGV[3..24]), then the writes.
      const header = [
        String(nrun),
        events.length === 1 ? '1' : '0',
        events.length > 1 ? '1' : '0',
        plan.pop ?? '',
        plan.release ? runId : '',
        plan.pending ? '1' : '0',
        plan.project,
        threadId,
        createdAt,
        String(Date.now()),
        k.shardDeadlines(threadId),
        runId,
        ...(plan.letGo ? [k.wake(threadId), k.shardWakeups(threadId), DRAIN_GROUP, plan.letGo] : ['', '', '', '']),
        ...(live ? [k.runEvents(threadId, runId), String(live.events.length), fence, live.end ? '1' : '0', String(LIVE_EVENTS_TTL_SECONDS)] : ['', '', '', '', '']),
        direct ? JSON.stringify(direct) : '',
        String(nwrites),
      ]
      const reply = await runScript<string | [string, string, string, string, string, string, string]>(
        redis,
        commitRun,
        [k.thread(threadId), k.run(threadId, runId), k.mailbox(threadId), k.fence(threadId), k.shardOutbox(threadId), k.shardPending(threadId)],
        [fence, plan.from.map((s) => JSON.stringify(s)).join(','), ...header, ...writes, ...values],
      )
      if (Array.isArray(reply)) {
        const [, liveFrom, next, released, taken, behind, want] = reply
        const direct = taken && callbackAt !== null ? directClaim(taken, shard, events, evts, callbackAt, createdAt, behind || null) : null
        return {
          ok: true,
          ...(liveFrom ? { liveFrom } : {}),
          ...(plan.pop ? { next: next || null } : {}),
          ...(released === '1' ? { released: true } : {}),
          ...(direct ? { direct } : {}),
          ...(want ? { want } : {}),
        }
      }
      if (reply === 'FENCED') return { ok: false, reason: 'fenced' }
      if (reply === 'GONE') return { ok: false, reason: 'gone' }
      return { ok: false, reason: 'status', status: JSON.parse(reply.slice('STATUS:'.length)) as RunStatus }
    },
  }
}

/**
 * A commit's two or more events as one outbox entry's `events` field (commitRun-6.lua): JSON
 * `[[evt, type, data, callback_url], …]` in commit order, each object's JSON spliced in once.
 */
function outboxEntry(events: readonly OutboxEvent[], evts: readonly string[], json: JsonOnce): string {
  let out = '['
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    out += `${i > 0 ? ',' : ''}[${JSON.stringify(evts[i]!)},${JSON.stringify(e.type)},${json.stringify(e.data)},${JSON.stringify(e.callbackUrl ?? '')}]`
  }
  return `${out}]`
}

/** The callback event (at `at` of `events`) of an entry the commit took for its caller (`CommitPlan.direct`). */
function directClaim(
  entryId: string,
  shard: number,
  events: readonly OutboxEvent[],
  evts: readonly string[],
  at: number,
  createdAt: string,
  behind: string | null,
): DirectClaim {
  const e = events[at]!
  const sub = events.length > 1 ? at : null
  return {
    entryId,
    shard,
    evt: evts[at]!,
    sub,
    member: webhookFifoMember(entryId, evts[at]!, sub),
    type: e.type,
    data: e.data,
    callbackUrl: e.callbackUrl!,
    createdAt: Number(createdAt),
    behind,
  }
}
