--[[
  Creates a run on a thread unless another run holds it, adds its additional messages first, and
  queues it in the thread's mailbox.
  KEYS[1] thread hash   KEYS[2] messages zset   KEYS[3] runs zset   KEYS[4] mailbox list
  KEYS[5] shard pending zset
  ARGV[1] project   ARGV[2] run id   ARGV[3] message key prefix   ARGV[4] now (ms)
  ARGV[5] run hash key   ARGV[6] thread id
  ARGV[7] number of run field/value items (n)   ARGV[8 .. 7+n] run fields
  ARGV[8+n] the run's live event stream key ('' for none; it shares the thread's hash tag)
  ARGV[9+n] the run's JSON   ARGV[10+n] the live stream's TTL (s)
  ARGV[11+n] the shard's deadlines zset (same hash tag)   ARGV[12+n] expires_at in ms, or '' for none
  ARGV[13+n ..] per additional message: id, item count m, m field/value items
  The live stream (what `stream: true` reads) starts with `thread.run.created` and
  `thread.run.queued` in the same step as the run, so a reader starting at 0 misses nothing.
  returns 'OK' | 'NOT_FOUND' | 'ACTIVE:<run id>'
]]
-- One read of the thread: owner, lock, and its tool_resources (below).
local thread = redis.call('HMGET', KEYS[1], '_project', '_active_run', 'tool_resources')
if thread[1] ~= ARGV[1] then return 'NOT_FOUND' end
local active = thread[2]
if active then return 'ACTIVE:' .. active end
-- A thread a run is made on gets OpenAI's empty code_interpreter entry in its tool_resources when
-- it has none (domain threadToolResourcesForRun; run-store.test holds this to it). The field is
-- JSON.stringify's compact output: 'null', '{}' or '{"file_search":…}' when it lacks the entry.
local tr = thread[3]
if tr and not string.find(tr, '"code_interpreter"', 1, true) then
  local entry = '"code_interpreter":{"file_ids":[]}'
  if tr == 'null' or tr == '{}' then tr = '{' .. entry .. '}' else tr = '{' .. entry .. ',' .. string.sub(tr, 2) end
  redis.call('HSET', KEYS[1], 'tool_resources', tr)
end
local n = tonumber(ARGV[7])
local i = 13 + n
while i <= #ARGV do
  local id = ARGV[i]
  local m = tonumber(ARGV[i + 1])
  local seq = redis.call('HINCRBY', KEYS[1], '_seq', 1)
  redis.call('HSET', ARGV[3] .. id, unpack(ARGV, i + 2, i + 1 + m))
  redis.call('ZADD', KEYS[2], seq, id)
  i = i + 2 + m
end
local seq = redis.call('HINCRBY', KEYS[1], '_seq', 1)
redis.call('HSET', ARGV[5], '_project', ARGV[1], unpack(ARGV, 8, 7 + n))
redis.call('ZADD', KEYS[3], seq, ARGV[2])
redis.call('HSET', KEYS[1], '_active_run', ARGV[2])
redis.call('RPUSH', KEYS[4], 'run:' .. ARGV[2])
redis.call('ZADD', KEYS[5], 'NX', ARGV[4], ARGV[6])
-- The expiry backstop: the reconciler ends the run if it is still active past this.
if ARGV[12 + n] ~= '' then redis.call('ZADD', ARGV[11 + n], ARGV[12 + n], ARGV[6] .. '/' .. ARGV[2]) end
local live = ARGV[8 + n]
if live ~= '' then
  redis.call('XADD', live, '*', 'event', 'thread.run.created', 'data', ARGV[9 + n])
  redis.call('XADD', live, '*', 'event', 'thread.run.queued', 'data', ARGV[9 + n])
  redis.call('EXPIRE', live, tonumber(ARGV[10 + n]))
end
return 'OK'
