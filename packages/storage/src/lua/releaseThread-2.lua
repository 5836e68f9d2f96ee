--[[
  A drain lets go of its wake-up entry.
  KEYS[1] the thread's wake key   KEYS[2] the shard's wake-up stream
  ARGV[1] consumer group   ARGV[2] the entry id   ARGV[3] 'release' | 'handover'   ARGV[4] thread id
  release: the drain found nothing more to do. Woken again meanwhile (`<id>+`): the mark is cleared,
           the entry kept, and 'AGAIN' returned (the caller claims the thread once more); else the
           entry is acked and the wake key deleted: 'DONE'.
  handover: the worker is stopping mid-item: the entry is acked and a fresh one added, which any
           other worker reads at once, in one step: 'DONE'.
  An entry the wake key no longer names (its drain was superseded, or the wake was repaired) is
  only acked: 'DONE'.
]]
local v = redis.call('GET', KEYS[1])
local id = ARGV[2]
if v == id .. '+' and ARGV[3] == 'release' then
  redis.call('SET', KEYS[1], id)
  return 'AGAIN'
end
redis.call('XACK', KEYS[2], ARGV[1], id)
if v ~= id and v ~= id .. '+' then return 'DONE' end
if ARGV[3] == 'handover' then
  redis.call('SET', KEYS[1], redis.call('XADD', KEYS[2], '*', 't', ARGV[4]))
else
  redis.call('DEL', KEYS[1])
end
return 'DONE'
