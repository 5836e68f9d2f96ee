--[[
  Ends an attempt made straight from the outbox (services/webhooks first-attempts.ts): when it
  will be retried, its FIFO place (so the thread's later events wait for the retry); when it was
  the entry's last target, the entry's acknowledgement. Run in one MULTI with the retry job's
  add, so a crash leaves either all of it or the entry still pending (and sent again).
  An entry another consumer has claimed meanwhile (this one looked dead) is that consumer's now:
  it sends the event itself and settles it; this attempt's outcome is dropped (no FIFO place, no
  XACK), so a retry job added beside this script finds no place in the FIFO and ends at once
  (services/webhooks fifo.ts `gate`: done) instead of going out after the thread's later events.
  KEYS[1] the shard's outbox stream   KEYS[2] the (target, thread) FIFO zset (any key of the slot when unordered)
  ARGV[1] consumer group   ARGV[2] entry id   ARGV[3] FIFO member to add, or ''   ARGV[4] '1' to acknowledge the entry
  ARGV[5] this consumer's name
  returns the number of entries acknowledged (0 or 1), or -1 when the entry is no longer this consumer's
]]
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[5] then return -1 end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], 'NX', 0, ARGV[3]) end
if ARGV[4] == '1' then return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) end
return 0
