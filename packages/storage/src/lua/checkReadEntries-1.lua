--[[
  What a dispatcher needs before the first attempts of the entries its blocking XREADGROUP was
  just handed, sent behind that read on the same connection (services/webhooks
  outbox-consumer.ts `follow`): Redis runs it as soon as the read is served, so the answers arrive
  with the entries and no round trip follows the read (issue 14, callback latency). It finds
  those entries itself (this consumer's pending entries after the last one it read before), and
  gives for each the answer of checkFifoClear-n.lua for its (callback, thread) FIFO, and the
  webhook version of each project (endpoint-cache.ts); and, when asked, takes the in-flight slot
  (acquireDeliverySlot-2.lua's) for the first clear callback of each project the caller holds no
  callback slot of now, which the caller then holds as one it kept (first-attempt-slots.ts).
  Single Redis only: the FIFOs (shard slot) and the versions (project slots) are built here from
  the entries' fields, not declared; a Redis Cluster (REDIS_CLUSTER_NODES) keeps the dispatcher's
  own round trip instead.
  KEYS[1] the shard's outbox stream
  ARGV[1] consumer group   ARGV[2] the caller's consumer name   ARGV[3] the committers' consumer
  name prefix ('' for none)   ARGV[4] the last entry id the caller read before (exclusive)
  ARGV[5] how many entries the read asked for   ARGV[6] the (callback, thread) FIFO key without
  its thread id   ARGV[7], ARGV[8] a project's webhook version key before and after its project id
  ARGV[9] slot member prefix ('' to take none; the k-th slot taken is named prefix .. k)
  ARGV[10] now (ms, the caller's clock when it sent this, as acquireDeliverySlot-2.lua's)
  ARGV[11] lease expiry (ms)   ARGV[12] project limit   ARGV[13] callback target limit
  ARGV[14] a project's in-flight keys before its project id, ARGV[15], ARGV[16] after it (the
  project's, the callback target's)   ARGV[17 ..] projects whose callback slots the caller held
  when it sent this: looked up (a member named after the caller, ARGV[2] .. '#') before taking one,
  since it may have given them back while the read waited
  returns { { entry id, 1 (clear) | 0 (queue behind), … }, { project, version ('' for none), … },
  { project, member, lease expiry (ms), … } }, or {} when the read was handed nothing
  A packed entry (`events` JSON) has a callback when it holds `},"http`: an event's data object,
  then its callback_url (http(s) by the API's check; never inside a JSON string, where the quote
  is escaped). A false match takes a slot no attempt uses: kept 250 ms, then given back.
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

local checks, versions, seen, taken = {}, {}, {}, {}
-- Slots: not where the caller holds one (it hands its own on), one per project per read.
local slotPrefix = ARGV[9]
local lookUp, slotSeen = {}, {}
for i = 17, #ARGV do lookUp[ARGV[i]] = true end
local function holds(tkey)
  local own = ARGV[2] .. '#'
  for _, m in ipairs(redis.call('ZRANGE', tkey, 0, -1)) do
    if string.sub(m, 1, #own) == own then return true end
  end
  return false
end
local function take(project)
  local member = slotPrefix .. (#taken / 3 + 1)
  local now = tonumber(ARGV[10])
  local expiry = tonumber(ARGV[11])
  local pkey = ARGV[14] .. project .. ARGV[15]
  local tkey = ARGV[14] .. project .. ARGV[16]
  -- As acquireDeliverySlot-2.lua: added, then counted; expired leases dropped only when it seems full.
  redis.call('ZADD', tkey, expiry, member)
  redis.call('ZADD', pkey, expiry, member)
  local function over(key, limit)
    if redis.call('ZCARD', key) <= limit then return false end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    return redis.call('ZCARD', key) > limit
  end
  if over(tkey, tonumber(ARGV[13])) or over(pkey, tonumber(ARGV[12])) then
    redis.call('ZREM', tkey, member)
    redis.call('ZREM', pkey, member)
    return
  end
  local ttl = expiry - now + 1000
  redis.call('PEXPIRE', pkey, ttl)
  redis.call('PEXPIRE', tkey, ttl)
  taken[#taken + 1] = project
  taken[#taken + 1] = member
  taken[#taken + 1] = ARGV[11]
end
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
  local thread, project, callback, events = '', '', nil, nil
  for i = 1, #f, 2 do
    local name = f[i]
    if name == 'thread' then thread = f[i + 1]
    elseif name == 'project' then project = f[i + 1]
    elseif name == 'callback_url' then callback = f[i + 1]
    elseif name == 'events' then events = f[i + 1] end
  end
  -- An entry of one event without a callback_url needs no check (a packed entry's events are
  -- JSON: checked, whether or not one of them has a callback).
  local clear = 1
  if thread ~= '' and callback ~= '' then
    if oldest ~= nil and older(oldest, id) then
      clear = 0
    elseif redis.call('EXISTS', ARGV[6] .. thread) == 1 then
      clear = 0
    end
    checks[#checks + 1] = id
    checks[#checks + 1] = clear
  end
  local hasCallback = (callback ~= nil and callback ~= '') or (events ~= nil and string.find(events, '},"http', 1, true) ~= nil)
  if slotPrefix ~= '' and clear == 1 and hasCallback and project ~= '' and not slotSeen[project] then
    slotSeen[project] = true
    if not (lookUp[project] and holds(ARGV[14] .. project .. ARGV[16])) then take(project) end
  end
  if project ~= '' and not seen[project] then
    seen[project] = true
    versions[#versions + 1] = project
    versions[#versions + 1] = redis.call('GET', ARGV[7] .. project .. ARGV[8]) or ''
  end
end
return { checks, versions, taken }
