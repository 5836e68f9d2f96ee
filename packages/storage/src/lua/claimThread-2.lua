--[[
  Claims a thread for one drain attempt: a new fencing token and the mailbox head (peeked, not popped).
  KEYS[1] fence counter   KEYS[2] mailbox list
  With a wake-up's hint (issue 14: read in the claim's step, not as commands of their own beside it):
  KEYS[3] the hinted turn's hash (the thread's slot)   KEYS[4] its assistant's hash (not on a Redis
  Cluster, where it is in its project's slot: read apart there)   ARGV[1] the hinted item, 'turn:<id>'
  returns { fence, head or false, turn fields, assistant fields }, the last two (HGETALL's flat
  arrays, empty when missing) only when the head is the hinted item and their keys were given.
  A thread with neither (deleted, or never given work) is not claimed: { 0, false }, and no fence
  key is created for it (it would be left behind without a TTL).
]]
-- A head means the mailbox exists (Redis has no empty lists): the common path is two commands.
local head = redis.call('LINDEX', KEYS[2], 0)
if head then
  local fence = redis.call('INCR', KEYS[1])
  if KEYS[3] and head == ARGV[1] then
    if KEYS[4] then return { fence, head, redis.call('HGETALL', KEYS[3]), redis.call('HGETALL', KEYS[4]) } end
    return { fence, head, redis.call('HGETALL', KEYS[3]) }
  end
  return { fence, head }
end
if redis.call('EXISTS', KEYS[1]) == 0 then return { 0, false } end
return { redis.call('INCR', KEYS[1]), false }
