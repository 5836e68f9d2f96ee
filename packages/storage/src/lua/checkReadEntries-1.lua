--[[
  What a dispatcher needs before the first attempts of the entries its blocking XREADGROUP was
  just handed, sent behind that read on the same connection (services/webhooks
  outbox-consumer.ts `follow`): Redis runs it as soon as the read is served, so the answers arrive
  with the entries and no round trip follows the read (issue 14, callback latency). It finds
  those entries itself (this consumer's pending entries after the last one it read before), and
  gives for each the answer of checkFifoClear-n.lua for its (callback, thread) FIFO, and the
  webhook version of each project (endpoint-cache.ts).
  Single Redis only: the FIFOs (shard slot) and the versions (project slots) are built here from
  the entries' fields, not declared; a Redis Cluster (REDIS_CLUSTER_NODES) keeps the dispatcher's
  own round trip instead.
  KEYS[1] the shard's outbox stream
  ARGV[1] consumer group   ARGV[2] the caller's consumer name   ARGV[3] the committers' consumer
  name prefix ('' for none)   ARGV[4] the last entry id the caller read before (exclusive)
  ARGV[5] how many entries the read asked for   ARGV[6] the (callback, thread) FIFO key without
  its thread id   ARGV[7], ARGV[8] a project's webhook version key before and after its project id
  returns { { entry id, 1 (clear) | 0 (queue behind), … }, { project, version ('' for none), … } },
  or {} when the read was handed nothing
]]
local mine = redis.call('XPENDING', KEYS[1], ARGV[1], '(' .. ARGV[4], '+', tonumber(ARGV[5]), ARGV[2])
if #mine == 0 then return {} end

local function older(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, bms = tonumber(ams), tonumber(bms)
  if ams ~= bms then return ams < bms end
  return tonumber(aseq) < tonumber(bseq)
end

-- As checkFifoClear-n.lua: the oldest entry pending at any other consumer (committers' own
-- callback attempts aside: their FIFO member is in place) holds back every younger one.
local oldest = nil
local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
for _, c in ipairs(summary[4] or {}) do
  if c[1] ~= ARGV[2] and (ARGV[3] == '' or string.sub(c[1], 1, #ARGV[3]) ~= ARGV[3]) then
    local first = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, c[1])[1]
    if first and (oldest == nil or older(first[1], oldest)) then oldest = first[1] end
  end
end

local checks, versions, seen = {}, {}, {}
-- The read's entries are consecutive in the stream unless another consumer's came in between:
-- one range read then, else one per entry.
local first, last = mine[1][1], mine[#mine][1]
local entries = redis.call('XRANGE', KEYS[1], first, last, 'COUNT', #mine)
if #entries ~= #mine or entries[#entries][1] ~= last then
  entries = {}
  for _, p in ipairs(mine) do
    local e = redis.call('XRANGE', KEYS[1], p[1], p[1])[1]
    if e then entries[#entries + 1] = e end
  end
end
for _, e in ipairs(entries) do
  local id, f = e[1], e[2]
  local thread, project, callback = '', '', nil
  for i = 1, #f, 2 do
    local name = f[i]
    if name == 'thread' then thread = f[i + 1]
    elseif name == 'project' then project = f[i + 1]
    elseif name == 'callback_url' then callback = f[i + 1] end
  end
  -- An entry of one event without a callback_url needs no check (a packed entry's events are
  -- JSON: checked, whether or not one of them has a callback).
  if thread ~= '' and callback ~= '' then
    local clear = 1
    if oldest ~= nil and older(oldest, id) then
      clear = 0
    elseif redis.call('EXISTS', ARGV[6] .. thread) == 1 then
      clear = 0
    end
    checks[#checks + 1] = id
    checks[#checks + 1] = clear
  end
  if project ~= '' and not seen[project] then
    seen[project] = true
    versions[#versions + 1] = project
    versions[#versions + 1] = redis.call('GET', ARGV[7] .. project .. ARGV[8]) or ''
  end
end
return { checks, versions }
