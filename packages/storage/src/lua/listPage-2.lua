--[[
  One page of an index in O(log n + limit): the page's objects, read in the same step.
  KEYS[1] owner hash (carries _project)   KEYS[2] index zset (score = creation sequence)
  ARGV[1] project, or '' when the index key is itself project-scoped  ARGV[2] 'asc'|'desc'  ARGV[3] after id or ''  ARGV[4] before id or ''
  ARGV[5] limit    ARGV[6] object key prefix (same hash tag as KEYS)
  returns { 'OK', has_more (0|1), {HGETALL…}, … } | { 'NOT_FOUND' } | { 'BAD_CURSOR', 'after'|'before' }
  Scores are unique sequence numbers, so exclusive bounds never skip or repeat an item.
  `after` alone: the `limit` items right after it. `before` (OpenAI: "fetch the previous page"):
  the `limit` items right before it, still returned in list order, `has_more` telling whether more
  lie beyond them (towards the list's start). Both: the window between them, taken from `before`.
]]
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return { 'NOT_FOUND' } end
local lo, hi = '-inf', '+inf'
local asc = ARGV[2] == 'asc'
if ARGV[3] ~= '' then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[3])
  if not s then return { 'BAD_CURSOR', 'after' } end
  if asc then lo = '(' .. s else hi = '(' .. s end
end
local backwards = ARGV[4] ~= ''
if backwards then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[4])
  if not s then return { 'BAD_CURSOR', 'before' } end
  if asc then hi = '(' .. s else lo = '(' .. s end
end
local limit = tonumber(ARGV[5])
local ids
-- Read from the bound the page starts at: `before`'s page is read outwards from `before`.
if asc ~= backwards then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'LIMIT', 0, limit + 1)
else
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[2], hi, lo, 'LIMIT', 0, limit + 1)
end
local out = { 'OK', 0 }
local n = math.min(#ids, limit)
if #ids > limit then out[2] = 1 end
local first, last, step = 1, n, 1
if backwards then first, last, step = n, 1, -1 end
for i = first, last, step do
  out[#out + 1] = redis.call('HGETALL', ARGV[6] .. ids[i])
end
return out
