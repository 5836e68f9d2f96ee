--[[
  Keeps the entries of long callback attempts a committer makes itself from looking abandoned:
  each one still pending under the committer's name gets its idle time reset (XCLAIM to itself),
  so the dispatchers' XAUTOCLAIM (WEBHOOK_RECLAIM_IDLE_MS) leaves a live attempt alone. One taken
  by another consumer already stays that consumer's (checked and claimed in one step).
  KEYS[1] the shard's outbox stream
  ARGV[1] consumer group   ARGV[2] the committer's consumer name   ARGV[3 ..] entry ids
  returns the number of entries renewed
]]
local renewed = 0
for i = 3, #ARGV do
  local one = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if one and one[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
