--[[
  Takes a file out of a vector store: its object, its place in the store's (and its batch's) counts
  and indexes, and queues the removal of its chunks from the index (the store's single writer does it).
  KEYS[1] store hash   KEYS[2] store file hash   KEYS[3] store mailbox
  ARGV[1] project   ARGV[2] store base (KEYS[1])   ARGV[3] batch hash prefix   ARGV[4] file→stores set prefix
  ARGV[5] file id   ARGV[6] store id
  returns 1 when removed, 0 when the store or file is missing or another project's
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local base, batchBase, fid = ARGV[2], ARGV[3], ARGV[5]
local status = cjson.decode(redis.call('HGET', KEYS[2], 'status'))

local function leave(hashKey, idxBase)
  local counts = cjson.decode(redis.call('HGET', hashKey, 'file_counts'))
  counts[status] = counts[status] - 1
  counts.total = counts.total - 1
  redis.call('HSET', hashKey, 'file_counts', cjson.encode(counts))
  redis.call('ZREM', idxBase .. ':files', fid)
  redis.call('ZREM', idxBase .. ':files:' .. status, fid)
  return counts
end

local counts = leave(KEYS[1], base)
if redis.call('HGET', KEYS[1], 'status') ~= '"expired"' then
  redis.call('HSET', KEYS[1], 'status', counts.in_progress > 0 and '"in_progress"' or '"completed"')
end
local batchId = redis.call('HGET', KEYS[2], '_batch')
if batchId and batchId ~= '' and redis.call('EXISTS', batchBase .. batchId) == 1 then
  local batchKey = batchBase .. batchId
  local bc = leave(batchKey, batchKey)
  if redis.call('HGET', batchKey, 'status') == '"in_progress"' and bc.in_progress == 0 then
    redis.call('HSET', batchKey, 'status', '"completed"')
  end
end
redis.call('DEL', KEYS[2])
redis.call('SREM', ARGV[4] .. fid, ARGV[6])
redis.call('RPUSH', KEYS[3], 'delete:' .. fid)
return 1
