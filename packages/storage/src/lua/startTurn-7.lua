--[[
  Starts the turn at the head of a thread's mailbox: adds its user message, creates its run, and
  marks the turn in progress, in one step. The mailbox item stays until the run's terminal commit.
  KEYS[1] thread hash   KEYS[2] fence counter   KEYS[3] turn hash   KEYS[4] messages zset
  KEYS[5] runs zset     KEYS[6] message hash    KEYS[7] run hash
  ARGV[1] fence token   ARGV[2] message id   ARGV[3] run id   ARGV[4] project
  ARGV[5] JSON { msg = [field, value, …], run = [field, value, …], turn = [field, value, …],
                 thread = thread id, deadlines, expires_ms (unused: the run is not put in the shard's
                 deadlines set while driven, see below) }
  returns 'OK' | 'FENCED' | 'STATUS:<turn status JSON>' | 'GONE'
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 'FENCED' end
local status = redis.call('HGET', KEYS[3], 'status')
if not status then return 'GONE' end
if status ~= '"queued"' then return 'STATUS:' .. status end
-- A thread a run is made on gets OpenAI's empty code_interpreter entry in its tool_resources when
-- it has none (domain threadToolResourcesForRun; run-store.test holds this to it). The field is
-- JSON.stringify's compact output: 'null', '{}' or '{"file_search":…}' when it lacks the entry.
local tr = redis.call('HGET', KEYS[1], 'tool_resources')
if tr and not string.find(tr, '"code_interpreter"', 1, true) then
  local entry = '"code_interpreter":{"file_ids":[]}'
  if tr == 'null' or tr == '{}' then tr = '{' .. entry .. '}' else tr = '{' .. entry .. ',' .. string.sub(tr, 2) end
  redis.call('HSET', KEYS[1], 'tool_resources', tr)
end
local plan = cjson.decode(ARGV[5])
-- Two sequence numbers at once: the message's, then the run's.
local seq = redis.call('HINCRBY', KEYS[1], '_seq', 2)
redis.call('HSET', KEYS[6], unpack(plan.msg))
redis.call('ZADD', KEYS[4], seq - 1, ARGV[2])
-- A run created through the Assistants API while this turn waited keeps the lock; it runs next.
-- Whether this run took it is kept on the run (`_lock`), so its terminal commit releases it
-- without reading the thread's `_active_run` first (issue 14: one HGET fewer per turn).
local locked = redis.call('HSETNX', KEYS[1], '_active_run', ARGV[3])
redis.call('HSET', KEYS[7], '_project', ARGV[4], '_lock', tostring(locked), '_dl', '0', unpack(plan.run))
redis.call('ZADD', KEYS[5], seq, ARGV[3])
-- Not in the shard's deadlines set (`_dl` '0'): the run starts `in_progress`, driven by this
-- drain, whose timer ends it at `expires_at`, and whose wake-up entry another worker takes over
-- (its executor checks `expires_at` first) should this one die. The set is the backstop for runs
-- nobody drives: the commit that parks this one (`requires_action`) adds it (commitRun-6.lua).
-- Two commands fewer per turn (issue 14: the ZADD here, the terminal commit's ZREM).
redis.call('HSET', KEYS[3], unpack(plan.turn))
return 'OK'
