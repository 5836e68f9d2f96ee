--[[
  Claims a thread for one drain attempt: a new fencing token and the mailbox head (peeked, not popped).
  KEYS[1] fence counter   KEYS[2] mailbox list
  returns { fence, head or false }
  A thread with neither (deleted, or never given work) is not claimed: { 0, false }, and no fence
  key is created for it (it would be left behind without a TTL).
]]
-- A head means the mailbox exists (Redis has no empty lists): the common path is two commands.
local head = redis.call('LINDEX', KEYS[2], 0)
if head then return { redis.call('INCR', KEYS[1]), head } end
if redis.call('EXISTS', KEYS[1]) == 0 then return { 0, false } end
return { redis.call('INCR', KEYS[1]), false }
