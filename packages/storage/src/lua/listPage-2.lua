--[[
  One page of an index in O(log n + limit): the page's objects, read in the same step.
  KEYS[1] owner hash (carries _project)   KEYS[2] index zset (score = creation sequence)
  ARGV[1] project, or '' when the index key is itself project-scoped  ARGV[2] 'asc'|'desc'  ARGV[3] after id or ''  ARGV[4] before id or ''
  ARGV[5] limit    ARGV[6] object key prefix (same hash tag as KEYS)
  returns { 'OK', has_more (0|1), {HGETALL…}, … } | { 'NOT_FOUND' } | { 'BAD_CURSOR', 'after'|'before' }
  Scores are unique sequence numbers, so exclusive bounds never skip or repeat an item.
]]
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return { 'NOT_FOUND' } end
local lo, hi = '-inf', '+inf'
local asc = ARGV[2] == 'asc'
if ARGV[3] ~= '' then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[3])
  if not s then return { 'BAD_CURSOR', 'after' } end
  if asc then lo = '(' .. s else hi = '(' .. s end
end
if ARGV[4] ~= '' then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[4])
  if not s then return { 'BAD_CURSOR', 'before' } end
  if asc then hi = '(' .. s else lo = '(' .. s end
end
local limit = tonumber(ARGV[5])
local ids
if asc then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'LIMIT', 0, limit + 1)
else
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[2], hi, lo, 'LIMIT', 0, limit + 1)
end
local out = { 'OK', 0 }
if #ids > limit then out[2] = 1 end
for i = 1, math.min(#ids, limit) do
  out[#out + 1] = redis.call('HGETALL', ARGV[6] .. ids[i])
end
return out
