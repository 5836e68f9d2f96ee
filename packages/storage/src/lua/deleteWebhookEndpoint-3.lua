--[[
  Deletes a webhook endpoint with its delivery log.
  KEYS[1] project's endpoint index zset   KEYS[2] endpoint hash   KEYS[3] the endpoint's delivery index zset
  ARGV[1] project   ARGV[2] endpoint id   ARGV[3] delivery key prefix
  returns 1 when deleted, 0 when missing or another project's
  Queued deliveries find the endpoint gone and drop themselves (services/webhooks).
]]
if redis.call('HGET', KEYS[2], '_project') ~= ARGV[1] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  redis.call('DEL', ARGV[3] .. id)
end
redis.call('DEL', KEYS[3])
return 1
