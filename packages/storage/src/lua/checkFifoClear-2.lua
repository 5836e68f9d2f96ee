--[[
  May an event go to its target now, ahead of any queue? Yes when nothing of its (target, thread)
  FIFO is queued and no other consumer of the outbox group still holds an older entry (which
  could be an earlier event of the same thread, not yet fanned out). The caller's own older
  entries are its own business: it orders them itself (services/webhooks first-attempts.ts).
  KEYS[1] the (target, thread) FIFO zset   KEYS[2] the shard's outbox stream
  ARGV[1] consumer group   ARGV[2] the caller's consumer name   ARGV[3] the event's entry id
  returns 1 (clear), 0 (queue behind the FIFO)
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local summary = redis.call('XPENDING', KEYS[2], ARGV[1])
local consumers = summary[4]
if not consumers then return 1 end
for _, c in ipairs(consumers) do
  if c[1] ~= ARGV[2] and #redis.call('XPENDING', KEYS[2], ARGV[1], '-', '(' .. ARGV[3], 1, c[1]) > 0 then return 0 end
end
return 1
