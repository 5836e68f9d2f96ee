--[[
  Claims a pending upload for completion once its parts check out: each listed part exists, none
  repeats, and their bytes add up to the upload's declared `bytes`. A claim older than ARGV[3]
  seconds (its process died) may be taken over.
  KEYS[1] upload hash   KEYS[2] upload parts hash
  ARGV[1] project   ARGV[2] now   ARGV[3] stale claim seconds   ARGV[4..] part ids in order
  returns { 'OK' } | { 'NOT_FOUND' } | { 'STATUS', status } | { 'UNKNOWN_PART', id } | { 'DUPLICATE_PART', id }
        | { 'BYTES_MISMATCH', total, expected }
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return { 'NOT_FOUND' } end
local now = tonumber(ARGV[2])
local status = cjson.decode(redis.call('HGET', KEYS[1], 'status'))
if status ~= 'pending' then return { 'STATUS', status } end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= now then return { 'STATUS', 'expired' } end
local claimed = redis.call('HGET', KEYS[1], '_completing')
if claimed and now - tonumber(claimed) < tonumber(ARGV[3]) then return { 'STATUS', 'completing' } end
local seen = {}
local total = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  if seen[id] then return { 'DUPLICATE_PART', id } end
  seen[id] = true
  local bytes = redis.call('HGET', KEYS[2], id)
  if not bytes then return { 'UNKNOWN_PART', id } end
  total = total + tonumber(bytes)
end
local expected = tonumber(redis.call('HGET', KEYS[1], 'bytes'))
if total ~= expected then return { 'BYTES_MISMATCH', total, expected } end
redis.call('HSET', KEYS[1], '_completing', ARGV[2])
return { 'OK' }
