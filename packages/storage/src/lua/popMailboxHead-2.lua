--[[
  Pops a mailbox's head item if this attempt still owns it (fence) and it is still the head.
  KEYS[1] mailbox list   KEYS[2] fence counter
  ARGV[1] fence   ARGV[2] head item
  returns 1 when popped, 0 otherwise
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] then return 0 end
redis.call('LPOP', KEYS[1])
return 1
