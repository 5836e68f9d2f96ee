--[[
  Acknowledges outbox entries whose first attempts are all done (services/webhooks
  first-attempts.ts), those that finished together in one call. An entry another consumer has
  claimed meanwhile (this one looked dead) is that consumer's now: it sends the event itself and
  acknowledges it, so it is left alone here.
  KEYS[1] the shard's outbox stream
  ARGV[1] consumer group   ARGV[2] this consumer's name   ARGV[3 ..] entry ids, oldest first
  returns the number of entries acknowledged
]]
-- One range read of this consumer's pending entries covers every id of the call; a range with
-- more than the page (entries in flight here, in between) is checked an id at a time.
local page = 1000
local mine = {}
local reply = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[#ARGV], page, ARGV[2])
for _, e in ipairs(reply) do mine[e[1]] = true end
local ack = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if mine[id] then
    ack[#ack + 1] = id
  elseif #reply >= page then
    local one = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
    if one and one[2] == ARGV[2] then ack[#ack + 1] = id end
  end
end
if #ack == 0 then return 0 end
return redis.call('XACK', KEYS[1], ARGV[1], unpack(ack))
