--[[
  Starts the turn at the head of a thread's mailbox: adds its user message, creates its run, and
  marks the turn in progress, in one step. The mailbox item stays until the run's terminal commit.
  KEYS[1] thread hash   KEYS[2] fence counter   KEYS[3] turn hash   KEYS[4] messages zset
  KEYS[5] runs zset     KEYS[6] message hash    KEYS[7] run hash
  ARGV[1] fence token, or '' to claim the thread in the same step (below)
  ARGV[2] message id   ARGV[3] run id   ARGV[4] project
  ARGV[5] n: how many values the message's fields take   ARGV[6] m: how many the run's take
  ARGV[7] how many of the thread's newest message ids to return (the first round's history page; 0: none)
  ARGV[8..11] the turn's fields (status, started_at), then ARGV[12..] the message's n values, then
  the run's m ([field, value, …], values JSON-encoded; as arguments, not inside a JSON, so nothing
  is escaped twice nor decoded here: issue 14)
  returns { 'OK', <newest message ids, newest first, after the start's writes> }
          | 'FENCED' | 'STATUS:<turn status JSON>' | 'GONE'

  Claim and start in one step (ARGV[1] ''; issue 14, latency: one round trip before a turn's model
  call instead of two, for a turn woken with its fields and an assistant the worker has cached):
  KEYS[8] mailbox list   KEYS[9] (optional, never on a Cluster: another slot) the assistant's hash
  ARGV[12+n+m] the mailbox item this start is for ('turn:<id>')
  ARGV[13+n+m] k: how many assistant fields are checked, then k field names and their k expected
  values ('' for a field that must be absent): the run was built from them
  First claimThread-2.lua's claim: a new fence and the mailbox head (peeked). The start then goes
  on under that fence only if the head is that item, the turn still `queued`, and each checked
  field of the assistant is as expected; else the claim alone stands and the caller goes on as
  after claimThread-2 (reads the turn or the assistant and starts with its fence).
  returns { 'STARTED', fence, <newest message ids …> } | { 'CLAIMED', fence, head or false }
          ({ 'CLAIMED', 0, false }: neither fence key nor mailbox, nothing claimed; claimThread-2's rule)
]]
local claimed = nil
if ARGV[1] == '' then
  local head = redis.call('LINDEX', KEYS[8], 0)
  if not head then
    if redis.call('EXISTS', KEYS[2]) == 0 then return { 'CLAIMED', 0, false } end
    return { 'CLAIMED', redis.call('INCR', KEYS[2]), false }
  end
  claimed = redis.call('INCR', KEYS[2])
  local at = 12 + tonumber(ARGV[5]) + tonumber(ARGV[6])
  if head ~= ARGV[at] or redis.call('HGET', KEYS[3], 'status') ~= '"queued"' then return { 'CLAIMED', claimed, head } end
  local k = tonumber(ARGV[at + 1])
  if k > 0 then
    local current = redis.call('HMGET', KEYS[9], unpack(ARGV, at + 2, at + 1 + k))
    for i = 1, k do
      if (current[i] or '') ~= ARGV[at + 1 + k + i] then return { 'CLAIMED', claimed, head } end
    end
  end
else
  if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 'FENCED' end
  local status = redis.call('HGET', KEYS[3], 'status')
  if not status then return 'GONE' end
  if status ~= '"queued"' then return 'STATUS:' .. status end
end
-- The thread hash is read once and written once (issue 14: were HGET, HSET, HINCRBY and HSETNX).
local th = redis.call('HMGET', KEYS[1], 'tool_resources', '_seq', '_active_run')
-- Two sequence numbers at once: the message's, then the run's.
local seq = (tonumber(th[2]) or 0) + 2
local set = { '_seq', seq }
-- A thread a run is made on gets OpenAI's empty code_interpreter entry in its tool_resources when
-- it has none (domain threadToolResourcesForRun; run-store.test holds this to it). The field is
-- JSON.stringify's compact output: 'null', '{}' or '{"file_search":…}' when it lacks the entry.
local tr = th[1]
if tr and not string.find(tr, '"code_interpreter"', 1, true) then
  local entry = '"code_interpreter":{"file_ids":[]}'
  if tr == 'null' or tr == '{}' then tr = '{' .. entry .. '}' else tr = '{' .. entry .. ',' .. string.sub(tr, 2) end
  set[#set + 1] = 'tool_resources'
  set[#set + 1] = tr
end
-- A run created through the Assistants API while this turn waited keeps the lock; it runs next.
-- Whether this run took it is kept on the run (`_lock`), so its terminal commit releases it
-- without reading the thread's `_active_run` first (issue 14: one HGET fewer per turn).
local locked = 0
if not th[3] then
  locked = 1
  set[#set + 1] = '_active_run'
  set[#set + 1] = ARGV[3]
end
redis.call('HSET', KEYS[1], unpack(set))
local n, m = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('HSET', KEYS[6], unpack(ARGV, 12, 11 + n))
redis.call('ZADD', KEYS[4], seq - 1, ARGV[2])
redis.call('HSET', KEYS[7], '_project', ARGV[4], '_lock', tostring(locked), '_dl', '0', unpack(ARGV, 12 + n, 11 + n + m))
redis.call('ZADD', KEYS[5], seq, ARGV[3])
-- Not in the shard's deadlines set (`_dl` '0'): the run starts `in_progress`, driven by this
-- drain, whose timer ends it at `expires_at`, and whose wake-up entry another worker takes over
-- (its executor checks `expires_at` first) should this one die. The set is the backstop for runs
-- nobody drives: the commit that parks this one (`requires_action`) adds it (commitRun-6.lua).
-- Two commands fewer per turn (issue 14: the ZADD here, the terminal commit's ZREM).
redis.call('HSET', KEYS[3], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
-- The first round's history page in the same reply: no ZREVRANGE of the worker's own (issue 14).
local page = tonumber(ARGV[7])
local ids = page > 0 and redis.call('ZREVRANGE', KEYS[4], 0, page - 1) or {}
if claimed then return { 'STARTED', claimed, unpack(ids) } end
return { 'OK', unpack(ids) }
