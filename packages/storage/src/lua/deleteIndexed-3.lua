--[[
  Deletes one indexed object owned by the project.
  KEYS[1] owner hash (carries _project)   KEYS[2] index zset   KEYS[3] object hash
  ARGV[1] project   ARGV[2] object id   ARGV[3] run-messages key prefix or '' (removes the run index entry)
  returns 1 when deleted, 0 when missing or another project's
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return 0 end
if redis.call('ZREM', KEYS[2], ARGV[2]) == 0 then return 0 end
if ARGV[3] ~= '' then
  local runId = redis.call('HGET', KEYS[3], 'run_id')
  if runId and runId ~= 'null' then
    redis.call('ZREM', ARGV[3] .. cjson.decode(runId) .. ':messages', ARGV[2])
  end
end
redis.call('DEL', KEYS[3])
return 1
