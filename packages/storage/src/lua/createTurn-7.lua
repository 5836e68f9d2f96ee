--[[
  Accepts a turn: stores it `queued`, appends it to the thread's mailbox and (unless told not to)
  wakes the thread, in one step. Never refused for an active run: turns wait their place in line.
  KEYS[1] thread hash   KEYS[2] turns zset   KEYS[3] turn hash   KEYS[4] mailbox list
  KEYS[5] shard pending zset   KEYS[6] the thread's wake key   KEYS[7] the shard's wake-up stream
  ARGV[1] project   ARGV[2] turn id   ARGV[3] thread id   ARGV[4] now (ms)
  ARGV[5] '1' to wake the thread now, '0' when the caller wakes it later (after attaching files),
  '2' to wake it now and carry the turn's fields in its hint (below)
  ARGV[6] the turn's assistant id   ARGV[7], ARGV[8] the assistant's `model` and `tools` as stored,
  as the caller checked the turn against them   ARGV[9] r: how many of the items after it a
  wake-up entry carries   ARGV[10..] turn field/value items, the r a wake-up entry carries first
  (the rest are what the worker puts back: storage thread-wakeups `queuedTurnFields`)
  KEYS[8] (optional, never on a Cluster: another slot) the assistant's hash: the turn is stored only
  if it is there, the project's, with the `model` and `tools` the caller checked (so a cached
  assistant is as good as one read now; issue 14: one round trip per turn instead of two)
  returns 'OK' | 'NOT_FOUND' (thread) | 'ASSISTANT_NOT_FOUND' | 'ASSISTANT_CHANGED'
  A wake-up entry for a turn that heads an empty mailbox also names the turn, its project and its
  assistant (fields `turn`, `project`, `assistant` after `t`): a hint that lets the worker read
  both beside its claim instead of after it (issue 14, latency). The worker checks it against the
  head its claim returns; an entry without it (or a stale one) costs the reads it always did.
  With ARGV[5] '2' the hint's four pairs are followed by the turn's first r field/value items
  (ARGV[10..9+r], as stored in the turn hash): the worker then claims and starts the turn in one
  step (startTurn-7.lua), reading neither the turn nor, when cached, the assistant before it.
]]
if KEYS[8] then
  -- The assistant before the thread: its 404 came first when the API read it before the script.
  local a = redis.call('HMGET', KEYS[8], '_project', 'model', 'tools')
  if a[1] ~= ARGV[1] then return 'ASSISTANT_NOT_FOUND' end
  if a[2] ~= ARGV[7] or a[3] ~= ARGV[8] then return 'ASSISTANT_CHANGED' end
end
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return 'NOT_FOUND' end
local seq = redis.call('HINCRBY', KEYS[1], '_seq', 1)
redis.call('HSET', KEYS[3], '_project', ARGV[1], unpack(ARGV, 10))
redis.call('ZADD', KEYS[2], seq, ARGV[2])
local queued = redis.call('RPUSH', KEYS[4], 'turn:' .. ARGV[2])
redis.call('ZADD', KEYS[5], 'NX', ARGV[4], ARGV[3])
if ARGV[5] ~= '0' then
  -- wakeThread-2.lua's rule: one entry owed per thread; one owed already is marked to look again.
  local v = redis.call('GET', KEYS[6])
  if v then
    if string.sub(v, -1) ~= '+' then redis.call('SET', KEYS[6], v .. '+') end
  elseif queued == 1 and ARGV[5] == '2' then
    redis.call('SET', KEYS[6], redis.call('XADD', KEYS[7], '*', 't', ARGV[3], 'turn', ARGV[2], 'project', ARGV[1], 'assistant', ARGV[6], unpack(ARGV, 10, 9 + tonumber(ARGV[9]))))
  elseif queued == 1 then
    redis.call('SET', KEYS[6], redis.call('XADD', KEYS[7], '*', 't', ARGV[3], 'turn', ARGV[2], 'project', ARGV[1], 'assistant', ARGV[6]))
  else
    redis.call('SET', KEYS[6], redis.call('XADD', KEYS[7], '*', 't', ARGV[3]))
  end
end
return 'OK'
