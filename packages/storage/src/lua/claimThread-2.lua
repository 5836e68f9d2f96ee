--[[
  Claims a thread for one drain attempt: a new fencing token and the mailbox head (peeked, not popped).
  KEYS[1] fence counter   KEYS[2] mailbox list
  returns { fence, head or false }
]]
return { redis.call('INCR', KEYS[1]), redis.call('LINDEX', KEYS[2], 0) }
