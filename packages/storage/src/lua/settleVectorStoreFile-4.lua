--[[
  The worker's commit of one ingested (or failed) file: its status, error and usage, the counts of
  its store and batch, their statuses, and the mailbox pop, in one step.
  KEYS[1] store hash   KEYS[2] store file hash   KEYS[3] store mailbox   KEYS[4] store fence
  ARGV[1] fence   ARGV[2] mailbox head item   ARGV[3] file generation   ARGV[4] 'completed'|'failed'
  ARGV[5] last_error JSON   ARGV[6] the file's usage_bytes   ARGV[7] the store's usage_bytes
  ARGV[8] store base (KEYS[1])   ARGV[9] batch hash prefix   ARGV[10] file id
  returns 'OK' | 'FENCED' (a newer claim owns the store) | 'GONE' (head already popped)
        | 'STALE' (the file was removed, cancelled or attached again: nothing written, not popped)
]]
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return 'FENCED' end
if redis.call('LINDEX', KEYS[3], 0) ~= ARGV[2] then return 'GONE' end
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[2], '_gen') ~= ARGV[3]
  or redis.call('HGET', KEYS[2], 'status') ~= '"in_progress"' then return 'STALE' end

local to, fid, base = ARGV[4], ARGV[10], ARGV[8]
local function move(hashKey, idxBase)
  local counts = cjson.decode(redis.call('HGET', hashKey, 'file_counts'))
  counts.in_progress = counts.in_progress - 1
  counts[to] = counts[to] + 1
  redis.call('HSET', hashKey, 'file_counts', cjson.encode(counts))
  local seq = redis.call('ZSCORE', idxBase .. ':files', fid)
  redis.call('ZREM', idxBase .. ':files:in_progress', fid)
  if seq then redis.call('ZADD', idxBase .. ':files:' .. to, seq, fid) end
  return counts
end

redis.call('HSET', KEYS[2], 'status', cjson.encode(to), 'last_error', ARGV[5], 'usage_bytes', tonumber(ARGV[6]))
local counts = move(KEYS[1], base)
if redis.call('HGET', KEYS[1], 'status') ~= '"expired"' then
  redis.call('HSET', KEYS[1], 'status', counts.in_progress > 0 and '"in_progress"' or '"completed"')
end
redis.call('HSET', KEYS[1], 'usage_bytes', tonumber(ARGV[7]))
local batchId = redis.call('HGET', KEYS[2], '_batch')
if batchId and batchId ~= '' and redis.call('EXISTS', ARGV[9] .. batchId) == 1 then
  local batchKey = ARGV[9] .. batchId
  local bc = move(batchKey, batchKey)
  if redis.call('HGET', batchKey, 'status') == '"in_progress"' and bc.in_progress == 0 then
    redis.call('HSET', batchKey, 'status', '"completed"')
  end
end
redis.call('LPOP', KEYS[3])
return 'OK'
