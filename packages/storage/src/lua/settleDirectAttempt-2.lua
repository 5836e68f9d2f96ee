--[[
  Ends a callback attempt its committer made itself (commitRun-6.lua `direct`, services/worker
  direct-callback.ts): its FIFO member goes (delivered, or given up) or stays (a retry job, added
  in the same MULTI, holds the thread's later events back), and the entry is acknowledged.
  An entry another consumer has claimed meanwhile (the committer looked dead) is that consumer's
  now: it sends the event again itself, so nothing is done here and -1 is returned.
  KEYS[1] the shard's outbox stream   KEYS[2] the (callback, thread) FIFO zset
  ARGV[1] consumer group   ARGV[2] entry id   ARGV[3] the entry's FIFO member   ARGV[4] '1' to keep it
  ARGV[5] the committer's consumer name
  returns the number of entries acknowledged (1), or -1 when the entry is no longer the committer's
]]
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[5] then return -1 end
if ARGV[4] ~= '1' then redis.call('ZREM', KEYS[2], ARGV[3]) end
return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
