--[[
  Wakes a thread: owes it one drain, unless one is already owed (then marks that one to look again).
  KEYS[1] the thread's wake key   KEYS[2] the shard's wake-up stream
  ARGV[1] thread id   ARGV[2] a wake value the reconciler found dead ('' for none): replaced
  returns 1 when an entry was added, 0 when the owed drain was marked instead
  The wake key holds the owed entry's id; `+` after it means "woken again since": the drain that
  holds the entry claims the thread once more before letting go (releaseThread-2.lua), so a wake
  arriving while a drain finishes is never lost, and a thread never has two entries owed.
]]
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[2] then
  if string.sub(v, -1) ~= '+' then redis.call('SET', KEYS[1], v .. '+') end
  return 0
end
local id = redis.call('XADD', KEYS[2], '*', 't', ARGV[1])
redis.call('SET', KEYS[1], id)
return 1
