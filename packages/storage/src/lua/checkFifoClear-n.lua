--[[
  May events go to their targets now, ahead of any queue? One call for all the events a
  dispatcher is about to send from one shard at once (services/webhooks first-attempts.ts). An
  event is clear when nothing of its (target, thread) FIFO is queued and no other consumer of the
  outbox group still holds an older entry (which could be an earlier event of the same thread,
  not yet fanned out). The caller's own older entries are its own business: it orders them
  itself. Other consumers' pending entries can only be acknowledged after this read, never added
  below an id already read, so one look at each one's oldest entry serves every event of the call.
  Consumers named with ARGV[3] (a committer's own callback attempts, commitRun-6.lua `direct`) are
  not looked at: each of their entries has its one event's member in its (callback, thread) FIFO
  from the step that took it until it is settled, so the EXISTS below sees it.
  KEYS[1] the shard's outbox stream   KEYS[2 .. n] each event's (target, thread) FIFO zset
  ARGV[1] consumer group   ARGV[2] the caller's consumer name   ARGV[3] the committers' consumer name
  prefix ('' for none)   ARGV[4 .. n+2] each event's entry id
  returns { 1 (clear) | 0 (queue behind the FIFO), … } in the order of KEYS[2 ..]
]]
local function older(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, bms = tonumber(ams), tonumber(bms)
  if ams ~= bms then return ams < bms end
  return tonumber(aseq) < tonumber(bseq)
end

-- The oldest entry pending at any other consumer: nothing younger than it is held up by it.
local oldest = nil
local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
for _, c in ipairs(summary[4] or {}) do
  if c[1] ~= ARGV[2] and (ARGV[3] == '' or string.sub(c[1], 1, #ARGV[3]) ~= ARGV[3]) then
    local first = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, c[1])[1]
    if first and (oldest == nil or older(first[1], oldest)) then oldest = first[1] end
  end
end

local out = {}
for i = 2, #KEYS do
  local clear = 1
  if oldest ~= nil and older(oldest, ARGV[i + 2]) then
    clear = 0
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    clear = 0
  end
  out[i - 1] = clear
end
return out
