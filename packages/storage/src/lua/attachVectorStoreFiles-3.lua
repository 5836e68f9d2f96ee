--[[
  Creates a vector store (mode 'create') or checks an existing one (mode 'attach'), then attaches
  files to it, optionally as one file batch, and queues their ingestion: all or nothing.
  KEYS[1] store hash   KEYS[2] the project's store index (zset)   KEYS[3] project meta hash (_seq)
  ARGV[1] project   ARGV[2] store id   ARGV[3] now (unix s)   ARGV[4] mode 'create'|'attach'
  ARGV[5] store base (= KEYS[1]; + ':files', ':files:<status>', ':batches', ':mailbox')
  ARGV[6] file hash prefix   ARGV[7] batch hash prefix   ARGV[8] file→stores set prefix
  ARGV[9] max files per store   ARGV[10] batch id or ''   ARGV[11] n = store field/value items (create)
  ARGV[12 .. 11+n] store fields (JSON values)
  then per file: file id, attributes JSON, chunking_strategy JSON, filename JSON
  returns { 'OK', store HGETALL, batch HGETALL or {} } | { 'NOT_FOUND' } | { 'EXPIRED' } | { 'LIMIT', files after attach }
  A file already in the store is attached again: new attributes and chunking, back to in_progress,
  re-ingested (the index write is a replace). Counts always equal the aggregate of current members.
]]
local project, storeId, now, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local base, fileBase, batchBase, fvsBase = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local maxFiles, batchId, nFields = tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])
local first = 12 + nFields
local nFiles = (#ARGV - first + 1) / 4

if mode == 'attach' then
  if redis.call('HGET', KEYS[1], '_project') ~= project then return { 'NOT_FOUND' } end
  local status = redis.call('HGET', KEYS[1], 'status')
  local expiresAt = cjson.decode(redis.call('HGET', KEYS[1], 'expires_at') or 'null')
  if status == '"expired"' or (expiresAt ~= cjson.null and expiresAt <= now) then return { 'EXPIRED' } end
end

-- The limit first, so a refusal writes nothing.
local after = (mode == 'attach') and redis.call('ZCARD', base .. ':files') or 0
for i = 0, nFiles - 1 do
  local fid = ARGV[first + i * 4]
  if mode == 'create' or not redis.call('ZSCORE', base .. ':files', fid) then after = after + 1 end
end
if after > maxFiles then return { 'LIMIT', after } end

if mode == 'create' then
  redis.call('HSETNX', KEYS[3], '_project', project)
  local seq = redis.call('HINCRBY', KEYS[3], '_seq', 1)
  redis.call('HSET', KEYS[1], '_project', project, unpack(ARGV, 12, 11 + nFields))
  redis.call('ZADD', KEYS[2], seq, storeId)
end

local function bump(hashKey, delta)
  local counts = cjson.decode(redis.call('HGET', hashKey, 'file_counts'))
  for k, v in pairs(delta) do counts[k] = counts[k] + v end
  redis.call('HSET', hashKey, 'file_counts', cjson.encode(counts))
  return counts
end
local function settleBatchStatus(batchKey, counts)
  if redis.call('HGET', batchKey, 'status') == '"in_progress"' and counts.in_progress == 0 then
    redis.call('HSET', batchKey, 'status', '"completed"')
  end
end

local batchKey = batchBase .. batchId
if batchId ~= '' then
  redis.call('HSET', batchKey, '_project', project, 'id', cjson.encode(batchId), 'object', '"vector_store.files_batch"',
    'created_at', now, 'vector_store_id', cjson.encode(storeId), 'status', '"in_progress"',
    'file_counts', '{"in_progress":0,"completed":0,"failed":0,"cancelled":0,"total":0}')
  redis.call('SADD', base .. ':batches', batchId)
end

for i = 0, nFiles - 1 do
  local fid, attrs, chunking, filename = ARGV[first + i * 4], ARGV[first + i * 4 + 1], ARGV[first + i * 4 + 2], ARGV[first + i * 4 + 3]
  local fileKey = fileBase .. fid
  local seq = redis.call('ZSCORE', base .. ':files', fid)
  if seq then
    -- Attached again: leave its old status (and old batch) first.
    local old = cjson.decode(redis.call('HGET', fileKey, 'status'))
    redis.call('ZREM', base .. ':files:' .. old, fid)
    bump(KEYS[1], { [old] = -1, total = -1 })
    local oldBatch = redis.call('HGET', fileKey, '_batch')
    if oldBatch and oldBatch ~= '' and redis.call('EXISTS', batchBase .. oldBatch) == 1 then
      local ob = batchBase .. oldBatch
      redis.call('ZREM', ob .. ':files', fid)
      redis.call('ZREM', ob .. ':files:' .. old, fid)
      settleBatchStatus(ob, bump(ob, { [old] = -1, total = -1 }))
    end
  else
    seq = redis.call('HINCRBY', KEYS[1], '_fseq', 1)
    redis.call('ZADD', base .. ':files', seq, fid)
  end
  local gen = redis.call('HINCRBY', fileKey, '_gen', 1)
  redis.call('HSET', fileKey, 'id', cjson.encode(fid), 'object', '"vector_store.file"', 'usage_bytes', 0,
    'created_at', now, 'vector_store_id', cjson.encode(storeId), 'status', '"in_progress"', 'last_error', 'null',
    'chunking_strategy', chunking, 'attributes', attrs, '_filename', filename, '_batch', batchId, '_attempts', 0)
  redis.call('ZADD', base .. ':files:in_progress', seq, fid)
  bump(KEYS[1], { in_progress = 1, total = 1 })
  if batchId ~= '' then
    redis.call('ZADD', batchKey .. ':files', seq, fid)
    redis.call('ZADD', batchKey .. ':files:in_progress', seq, fid)
    bump(batchKey, { in_progress = 1, total = 1 })
  end
  redis.call('SADD', fvsBase .. fid, storeId)
  redis.call('RPUSH', base .. ':mailbox', 'ingest:' .. fid .. ':' .. gen)
end

-- Store status follows its files; attaching is activity.
local counts = cjson.decode(redis.call('HGET', KEYS[1], 'file_counts'))
redis.call('HSET', KEYS[1], 'status', counts.in_progress > 0 and '"in_progress"' or '"completed"', 'last_active_at', now)
local expiresAfter = cjson.decode(redis.call('HGET', KEYS[1], 'expires_after') or 'null')
if expiresAfter ~= cjson.null then redis.call('HSET', KEYS[1], 'expires_at', now + expiresAfter.days * 86400) end
local batch = {}
if batchId ~= '' then
  settleBatchStatus(batchKey, cjson.decode(redis.call('HGET', batchKey, 'file_counts')))
  batch = redis.call('HGETALL', batchKey)
end
return { 'OK', redis.call('HGETALL', KEYS[1]), batch }
