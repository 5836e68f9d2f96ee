--[=[
  The one way a run changes state. Compare-and-set on the run's status (and, for a worker, on the
  thread's fencing token), then in the same step: the run's fields, upserted messages and steps,
  the mailbox pop, the thread's release, and the durable events (outbox).
  So no committed result is ever without its event, and a superseded worker commits nothing.

  KEYS[1] thread hash   KEYS[2] run hash   KEYS[3] mailbox list   KEYS[4] fence counter
  KEYS[5] shard outbox stream   KEYS[6] shard pending zset
  ARGV[1] fence token, or '' for transitions not made by a draining worker (API cancel, expiry)
  ARGV[2] comma-separated statuses the run may be in (JSON-encoded, e.g. "in_progress")
  ARGV[3..] the plan's header, one argument per item (not a JSON: cjson.decode of the ~1 KB header
          took ~15 µs of each commit, its items as arguments ~5 µs; issue 14), then its writes, then
          the encoded values (arguments of their own, so nothing is escaped twice nor decoded here):
    [3] nrun     how many of the values are the run's [field, value, …] (values JSON-encoded)
    [4] ev       '1': the next 4 values are one event, its own outbox entry (fields evt, type, project,
             thread, created_at, data, callback_url) from [evt id, type, data JSON, callback_url or '']
    [5] packed   '1': the next value is, for a commit with several events, one outbox entry's `events` field: JSON
             `[[evt, type, data, callback_url], …]` in order (fields project, thread, created_at, events)
    [6] pop      mailbox item to remove ('' for none)   [7] release  run id to release the thread from (''; the
             plan's `run` then sets the run's `_lock` to '0')
    [8] pend     '1' to (re)mark the thread as having runnable work (after tool outputs arrive)
    [9] project  [10] thread  [11] created_at  [12] now_ms
    [13] deadlines  the shard's deadlines zset (same hash tag): a released run leaves it (unless its `_dl` is
             '0': never added); a run with `_dl` '0' parked `requires_action` joins it
    [14] run_id  the run's id (its deadlines member is `<thread>/<run id>`)
    [15..18] wake  key, stream, group, id ('' key: none): with a pop that leaves the mailbox empty, the
             drain lets go of its wake-up entry `id` here (releaseThread-2.lua's release: acked and
             the wake key deleted) unless the key no longer names it as is (woken again: `<id>+`)
    [19..23] live  key, n, fence ('' for none), done ('1' or '0'), ttl ('' key: none): the last 2n values are
             [event, data JSON] pairs appended to the run's live event stream (what `stream: true` reads) in the same step,
             each entry tagged with the fence; `done` ends the stream segment and sets its TTL;
             skipped when the run's `_live` field is '0' (after this plan's fields): nobody reads it
    [24] direct  '' or the JSON object below
    [25] w: how many writes, then per write: key, id, n (its field/value count), patch ('1' or '0'),
             i (how many indexes), the i index keys; their fields come next in the values, in order:
             upserts; an object new to its first index gets the thread's next sequence number
             in every listed index (messages, run messages, steps); a patch updates an existing object
             (a turn following its run) and is skipped if it is gone (it must name at least one field
             the object always has)
    direct   { group, consumer, prefix, version_key, version, want_key, fifo, evt, sub }: the entry
             just added is taken for the caller's own attempt of its one callback (services/worker
             direct-callback.ts): put in the outbox group's pending list under `consumer` (XREADGROUP
             `>`, so no dispatcher reads it as new) and its member `<entry id>[.<sub>]|<evt>` put in
             the (callback, thread) FIFO `fifo` (so every later event of that pair queues behind it),
             only when all of these hold: the project's webhook version (`version_key`, project slot:
             single-node Redis only) is still `version` (the caller's endpoint snapshot, which had no
             endpoint for any of the events); the group has delivered every earlier entry (its `>`
             read hands out this one; an earlier one it hands out is given back unread); the FIFO is empty, or its last member's entry is pending under
             a `prefix` consumer (a committer's own attempt of the thread, still running: the
             caller chains behind it); and no consumer whose name does not start with
             `prefix` holds a pending entry (a dispatcher's entries may be earlier events of the thread
             not fanned out yet; the `prefix` consumers' entries all sit in their FIFOs).
             `sub`: the callback's place in a packed entry, or -1 for an entry of one event.
             `want_key`: the project's want of a callback slot (keys.ts `webhookWant`), read with
             the version (one MGET) and returned, whether taken or not.
  returns { 'OK', <id of the live stream's last entry before this commit, 0-0 if none; '' without
          `live`>, <the mailbox head after the pop, '' if empty or no pop>, <'1' when `wake` was let go, else '0'>,
          <with `direct`: the entry id when taken, else ''>, <the member it was taken behind, else ''>,
          <with `direct`: the want key's value, else ''> }
          | 'FENCED' | 'GONE' | 'STATUS:<current status JSON>'
]=]
-- `direct` (see above): takes entry `id` of the outbox stream KEYS[5] for the caller, or returns ''.
-- 4 commands when taken with the FIFO empty (ZRANGE, XPENDING, XREADGROUP, ZADD; the version's GET
-- before): the group's lag is not read (XINFO GROUPS, one more a turn; issue 14), the read itself
-- tells (below).
local function claimDirect(id, d)
  -- The FIFO's last member: none, or a committer's own attempt still running (its entry pending
  -- under a `prefix` consumer: this caller's, or another worker process's that committed the
  -- thread's turn before): the caller chains this attempt behind it (a thread's next turn
  -- committed while its last callback is still in flight; refusing it sent it to a dispatcher,
  -- which found the target full of committers' slots and queued a job, and the thread's later
  -- callbacks queued behind that one: issue 14).
  local behind = ''
  local last = redis.call('ZRANGE', d.fifo, -1, -1)[1]
  if last then
    local ms, seq = string.match(last, '^0*(%d+)%-0*(%d+)')
    local held = ms and redis.call('XPENDING', KEYS[5], d.group, ms .. '-' .. seq, ms .. '-' .. seq, 1)[1]
    if not held or string.sub(held[2], 1, #d.prefix) ~= d.prefix then return '' end
    behind = last
  end
  for _, c in ipairs(redis.call('XPENDING', KEYS[5], d.group)[4] or {}) do
    if string.sub(c[1], 1, #d.prefix) ~= d.prefix then return '' end
  end
  -- `>` hands out the group's first undelivered entry: this one exactly when every earlier entry
  -- was handed out (what the lag of 1 in XINFO GROUPS told before). An earlier one (a dispatcher
  -- behind, or not blocked on the stream just now) is given back unread at once: acknowledged out
  -- of our pending list and the group's last-delivered id set back to just before it, so the next
  -- `>` read by a dispatcher gets it and ours, as if this read had not been.
  local read = redis.call('XREADGROUP', 'GROUP', d.group, d.consumer, 'COUNT', 1, 'STREAMS', KEYS[5], '>')
  local got = read and read[1][2][1] and read[1][2][1][1]
  if got ~= id then
    if got then
      redis.call('XACK', KEYS[5], d.group, got)
      local gms, gseq = string.match(got, '^(%d+)-(%d+)$')
      local before = gseq ~= '0' and (gms .. '-' .. (tonumber(gseq) - 1)) or ((tonumber(gms) - 1) .. '-18446744073709551615')
      redis.call('XGROUP', 'SETID', KEYS[5], d.group, before)
    end
    return ''
  end
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  local place = ''
  if d.sub >= 0 then place = '.' .. string.rep('0', 4 - #tostring(d.sub)) .. d.sub end
  local member = string.rep('0', 16 - #ms) .. ms .. '-' .. string.rep('0', 10 - #seq) .. seq .. place .. '|' .. d.evt
  redis.call('ZADD', d.fifo, 'NX', 0, member)
  return id, behind
end

if ARGV[1] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[1] then return 'FENCED' end
local current = redis.call('HMGET', KEYS[2], 'status', '_live', '_lock', '_dl')
local status = current[1]
if not status then return 'GONE' end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == status then allowed = true end
end
if not allowed then return 'STATUS:' .. status end

local nrun, ev, packed, pop, release = tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local project, thread, createdAt, nowMs, deadlines, runId = ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14]
local writes = {}
local at = 26
for _ = 1, tonumber(ARGV[25]) do
  local nidx = tonumber(ARGV[at + 4])
  writes[#writes + 1] = { k = ARGV[at], id = ARGV[at + 1], n = tonumber(ARGV[at + 2]), p = ARGV[at + 3], idx = { unpack(ARGV, at + 5, at + 4 + nidx) } }
  at = at + 5 + nidx
end
-- `at`: the values after the writes: the run's fields, each write's, then the events and live events.
-- '0': nobody can read the run's live stream (see `live` below); the plan may change it.
local liveFlag = current[2]
local newStatus = nil
if nrun > 0 then
  redis.call('HSET', KEYS[2], unpack(ARGV, at, at + nrun - 1))
  for i = at, at + nrun - 1, 2 do
    if ARGV[i] == '_live' then liveFlag = ARGV[i + 1] end
    if ARGV[i] == 'status' then newStatus = ARGV[i + 1] end
  end
  at = at + nrun
end
-- `_dl` '0': a run kept out of the deadlines set while driven (a turn's, startTurn-7.lua). Parked,
-- nobody drives it: it joins the set now (the reconciler's sweep is then its expiry backstop).
local inDeadlines = current[4] ~= '0'
if not inDeadlines and newStatus == '"requires_action"' then
  local expires = tonumber(redis.call('HGET', KEYS[2], 'expires_at'))
  if expires then redis.call('ZADD', deadlines, expires * 1000, thread .. '/' .. runId) end
  redis.call('HSET', KEYS[2], '_dl', '1')
  inDeadlines = true
end
local new = {}
for _, w in ipairs(writes) do
  -- A patch needs the object to exist; HSET tells (every field added: nothing was there, as objects
  -- are written whole and a patch names fields every object has, e.g. a turn's status), and what it
  -- made of a gone object is removed at once: an EXISTS fewer per patch (issue 14). An upsert learns
  -- whether it was new the same way.
  local added = redis.call('HSET', w.k, unpack(ARGV, at, at + w.n - 1))
  at = at + w.n
  if w.p == '1' then
    if added == w.n / 2 then redis.call('DEL', w.k) end
  elseif added == w.n / 2 and #w.idx > 0 then
    new[#new + 1] = w
  end
end
-- The new objects' sequence numbers, in plan order, taken with one HINCRBY.
if #new > 0 then
  local first = redis.call('HINCRBY', KEYS[1], '_seq', #new) - #new
  for i, w in ipairs(new) do
    for _, z in ipairs(w.idx) do redis.call('ZADD', z, first + i, w.id) end
  end
end
local nextHead = ''
if pop ~= '' then
  redis.call('LREM', KEYS[3], 1, pop)
  nextHead = redis.call('LINDEX', KEYS[3], 0)
  if not nextHead then
    nextHead = ''
    redis.call('ZREM', KEYS[6], thread)
  else
    redis.call('ZADD', KEYS[6], nowMs, thread)
  end
end
local released = '0'
if pop ~= '' and nextHead == '' and ARGV[15] ~= '' then
  -- GETDEL: the common case (the key names our entry as is) in one command, not GET + DEL (issue
  -- 14); any other value (woken again: `<id>+`, or another entry's) is put back at once, unseen.
  local v = redis.call('GETDEL', ARGV[15])
  if v == ARGV[18] then
    redis.call('XACK', ARGV[16], ARGV[17], ARGV[18])
    released = '1'
  elseif v then
    redis.call('SET', ARGV[15], v)
  end
end
if ARGV[8] == '1' then redis.call('ZADD', KEYS[6], 'NX', nowMs, thread) end
if release ~= '' then
  -- `_lock` '1': the run took the thread's lock when it started (startTurn-7.lua) and holds it until
  -- its first release (which clears the flag, in `run`): released without looking.
  if current[3] == '1' or redis.call('HGET', KEYS[1], '_active_run') == release then redis.call('HDEL', KEYS[1], '_active_run') end
  if inDeadlines then redis.call('ZREM', deadlines, thread .. '/' .. release) end
end
-- Never trimmed here: the dispatcher trims what it has acknowledged.
local added = nil
if ev == '1' then
  added = redis.call('XADD', KEYS[5], '*', 'evt', ARGV[at], 'type', ARGV[at + 1], 'project', project,
    'thread', thread, 'created_at', createdAt, 'data', ARGV[at + 2], 'callback_url', ARGV[at + 3])
  at = at + 4
end
if packed == '1' then
  added = redis.call('XADD', KEYS[5], '*', 'project', project, 'thread', thread, 'created_at', createdAt,
    'events', ARGV[at])
  at = at + 1
end
-- No pub/sub nudge: the dispatchers wait on the stream itself (XREADGROUP BLOCK), so a PUBLISH per
-- commit bought nothing (issue 14).
local taken, behind, want = '', '', ''
local direct = ARGV[24] ~= '' and cjson.decode(ARGV[24])
-- The version and the project's want of a callback slot (`want_key`) in one read.
local versionAndWant = added and direct and redis.call('MGET', direct.version_key, direct.want_key)
if versionAndWant then want = versionAndWant[2] or '' end
if versionAndWant and (versionAndWant[1] or '') == direct.version then
  taken, behind = claimDirect(added, direct)
  behind = behind or ''
end
local liveKey, liveFence = ARGV[19], ARGV[21]
if liveKey ~= '' and liveFlag ~= '0' then
  local last = redis.call('XREVRANGE', liveKey, '+', '-', 'COUNT', 1)
  local before = last[1] and last[1][1] or '0-0'
  for i = at, at + 2 * tonumber(ARGV[20]) - 1, 2 do
    if liveFence ~= '' then
      redis.call('XADD', liveKey, '*', 'event', ARGV[i], 'data', ARGV[i + 1], 'fence', liveFence)
    else
      redis.call('XADD', liveKey, '*', 'event', ARGV[i], 'data', ARGV[i + 1])
    end
  end
  if ARGV[22] == '1' then
    redis.call('XADD', liveKey, '*', 'event', 'done', 'data', '[DONE]')
    redis.call('EXPIRE', liveKey, ARGV[23])
  end
  return { 'OK', before, nextHead, released, taken, behind, want }
end
return { 'OK', '', nextHead, released, taken, behind, want }
