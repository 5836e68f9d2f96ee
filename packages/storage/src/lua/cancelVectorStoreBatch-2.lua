--[[
  Cancels a file batch: each of its files still in_progress becomes cancelled (counts of store and
  batch moved), then the batch. The worker skips cancelled files and clears any chunks they left.
  KEYS[1] store hash   KEYS[2] batch hash
  ARGV[1] project   ARGV[2] store base (KEYS[1])   ARGV[3] file hash prefix   ARGV[4] store id   ARGV[5] batch id
  returns { 'OK', batch HGETALL } | { 'NOT_FOUND' } | { 'FINISHED', status JSON }
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return { 'NOT_FOUND' } end
if redis.call('HGET', KEYS[2], '_project') ~= ARGV[1] then return { 'NOT_FOUND' } end
if redis.call('HGET', KEYS[2], 'vector_store_id') ~= cjson.encode(ARGV[4]) then return { 'NOT_FOUND' } end
local bstatus = redis.call('HGET', KEYS[2], 'status')
if bstatus ~= '"in_progress"' then return { 'FINISHED', bstatus } end
local base, fileBase, bid, batchKey = ARGV[2], ARGV[3], ARGV[5], KEYS[2]

local function move(hashKey, idxBase, fid, seq)
  local counts = cjson.decode(redis.call('HGET', hashKey, 'file_counts'))
  counts.in_progress = counts.in_progress - 1
  counts.cancelled = counts.cancelled + 1
  redis.call('HSET', hashKey, 'file_counts', cjson.encode(counts))
  redis.call('ZREM', idxBase .. ':files:in_progress', fid)
  redis.call('ZADD', idxBase .. ':files:cancelled', seq, fid)
  return counts
end

local ids = redis.call('ZRANGE', batchKey .. ':files:in_progress', 0, -1, 'WITHSCORES')
for i = 1, #ids, 2 do
  local fid, seq = ids[i], ids[i + 1]
  local fileKey = fileBase .. fid
  if redis.call('HGET', fileKey, '_batch') == bid and redis.call('HGET', fileKey, 'status') == '"in_progress"' then
    redis.call('HSET', fileKey, 'status', '"cancelled"')
    move(KEYS[1], base, fid, seq)
    move(batchKey, batchKey, fid, seq)
  end
end
local counts = cjson.decode(redis.call('HGET', KEYS[1], 'file_counts'))
if redis.call('HGET', KEYS[1], 'status') ~= '"expired"' then
  redis.call('HSET', KEYS[1], 'status', counts.in_progress > 0 and '"in_progress"' or '"completed"')
end
redis.call('HSET', batchKey, 'status', '"cancelled"')
return { 'OK', redis.call('HGETALL', batchKey) }
