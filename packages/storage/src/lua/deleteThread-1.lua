--[[
  Deletes a thread with all its messages, runs, steps and turns, and its mailbox.
  KEYS[1] thread hash
  ARGV[1] project   ARGV[2] the thread's key prefix (`<prefix>:{thread_…}:`)
  ARGV[3] seconds a run's live events stream is kept (so open streams read the run's last state
          and end), then it expires: no key of the thread is left without a TTL
  returns 1 when deleted, 0 when missing or another project's
  Cost is O(messages + runs + steps); every key shares the thread's hash tag.
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return 0 end
local p = ARGV[2]
local function unlinkAll(list, keyOf)
  local batch = {}
  for _, id in ipairs(list) do
    batch[#batch + 1] = keyOf(id)
    if #batch == 1000 then redis.call('UNLINK', unpack(batch)); batch = {} end
  end
  if #batch > 0 then redis.call('UNLINK', unpack(batch)) end
end
unlinkAll(redis.call('ZRANGE', p .. 'messages', 0, -1), function(id) return p .. 'msg:' .. id end)
for _, runId in ipairs(redis.call('ZRANGE', p .. 'runs', 0, -1)) do
  unlinkAll(redis.call('ZRANGE', p .. 'run:' .. runId .. ':steps', 0, -1), function(id) return p .. 'step:' .. id end)
  redis.call('UNLINK', p .. 'run:' .. runId, p .. 'run:' .. runId .. ':steps', p .. 'run:' .. runId .. ':messages')
  redis.call('EXPIRE', p .. 'run:' .. runId .. ':events', tonumber(ARGV[3]))
end
unlinkAll(redis.call('ZRANGE', p .. 'turns', 0, -1), function(id) return p .. 'turn:' .. id end)
-- Dropping the mailbox stops queued turns; a drain that still holds the thread finds nothing to do.
redis.call('UNLINK', KEYS[1], p .. 'messages', p .. 'runs', p .. 'turns', p .. 'mailbox', p .. 'fence')
return 1
