--[[
  Ends a callback attempt its committer made itself (commitRun-6.lua `direct`, services/worker
  direct-callback.ts): its FIFO member goes (delivered, or given up) or stays (a retry job, added
  in the same MULTI, holds the thread's later events back), and the entry is acknowledged.
  - Kept (a retry, or the queued way): an entry another consumer has claimed meanwhile (the
    committer looked dead) is that consumer's now: it sends the event again itself, so nothing is
    done here and -1 is returned.
  - Delivered or given up: acknowledged whoever holds it now, without looking (one read fewer a
    turn, issue 14): our attempt ended the event, so a claimer's send is a duplicate at most (its job
    finds its place gone and ends, or, added after this, sends once more: at-least-once). Only
    when the entry was no longer pending (a claimer acknowledged it: its job owns the place) is
    the member left alone, and -1 returned.
  KEYS[1] the shard's outbox stream   KEYS[2] the (callback, thread) FIFO zset
  ARGV[1] consumer group   ARGV[2] entry id   ARGV[3] the entry's FIFO member   ARGV[4] '1' to keep it
  ARGV[5] the committer's consumer name
  returns { the number of entries acknowledged (1), or -1 (see above);
  the FIFO's head after the member went (the pair's next event, to hand on to), or '' }
  (the hand-off's read in the same step: one round trip, not two; issue 14)
]]
if ARGV[4] == '1' then
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
  if #pending == 0 or pending[1][2] ~= ARGV[5] then return { -1, '' } end
  return { redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]), '' }
end
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return { -1, '' } end
-- The member is the FIFO's head here (taken into an empty FIFO, or sent only once it was the
-- head: direct-callbacks.ts), and members are only removed by their own settle: the head and
-- the next one come off in one ZPOPMIN, the next put back (in this step: nobody sees it gone)
-- only when there is one. One command where ZREM + ZRANGE were two (issue 14). A head not ours
-- (a bug) goes back with it, and ours is removed where it is.
local two = redis.call('ZPOPMIN', KEYS[2], 2)
if two[1] == ARGV[3] then
  if two[3] then redis.call('ZADD', KEYS[2], two[4], two[3]) end
  return { 1, two[3] or '' }
end
for i = 1, #two, 2 do redis.call('ZADD', KEYS[2], two[i + 1], two[i]) end
redis.call('ZREM', KEYS[2], ARGV[3])
return { 1, redis.call('ZRANGE', KEYS[2], 0, 0)[1] or '' }
