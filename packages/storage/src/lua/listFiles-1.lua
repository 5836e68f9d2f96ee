--[[
  One page of a project's files (all, or one purpose's), skipping files past their expires_at
  (they are gone for readers even before the sweeper removes them) and dropping dangling entries.
  KEYS[1] index zset (score = creation sequence)
  ARGV[1] 'asc'|'desc'   ARGV[2] after id or ''   ARGV[3] limit   ARGV[4] file key prefix (same hash tag)
  ARGV[5] now (Unix seconds)
  returns { 'OK', has_more (0|1), {HGETALL…}, … } | { 'BAD_CURSOR', 'after' }
]]
local asc = ARGV[1] == 'asc'
local lo, hi = '-inf', '+inf'
if ARGV[2] ~= '' then
  local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if not s then return { 'BAD_CURSOR', 'after' } end
  if asc then lo = '(' .. s else hi = '(' .. s end
end
local limit = tonumber(ARGV[3])
local now = tonumber(ARGV[5])
local out = { 'OK', 0 }
local found = 0
local offset = 0
local batch = math.min(limit + 1, 1000)
while true do
  local ids
  if asc then
    ids = redis.call('ZRANGEBYSCORE', KEYS[1], lo, hi, 'LIMIT', offset, batch)
  else
    ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, lo, 'LIMIT', offset, batch)
  end
  if #ids == 0 then return out end
  offset = offset + #ids
  for i = 1, #ids do
    local key = ARGV[4] .. ids[i]
    local exp = redis.call('HGET', key, 'expires_at')
    if not exp then
      redis.call('ZREM', KEYS[1], ids[i])
      offset = offset - 1
    elseif exp == 'null' or tonumber(exp) > now then
      if found == limit then
        out[2] = 1
        return out
      end
      found = found + 1
      out[#out + 1] = redis.call('HGETALL', key)
    end
  end
end
