--[[
  Deletes a vector store with its files, batches and queued work. Its index is dropped by the
  store's single writer (the ingest drain finds the store gone), never here.
  KEYS[1] the project's store index   KEYS[2] store hash
  ARGV[1] project   ARGV[2] store id   ARGV[3] store base (KEYS[2])   ARGV[4] file hash prefix
  ARGV[5] batch hash prefix   ARGV[6] file→stores set prefix
  returns 1 when deleted, 0 when missing or another project's
]]
if redis.call('HGET', KEYS[2], '_project') ~= ARGV[1] then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
local base, fileBase, batchBase, fvsBase = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local statuses = { 'in_progress', 'completed', 'failed', 'cancelled' }
for _, fid in ipairs(redis.call('ZRANGE', base .. ':files', 0, -1)) do
  redis.call('DEL', fileBase .. fid)
  redis.call('SREM', fvsBase .. fid, ARGV[2])
end
for _, bid in ipairs(redis.call('SMEMBERS', base .. ':batches')) do
  redis.call('DEL', batchBase .. bid, batchBase .. bid .. ':files')
  for _, s in ipairs(statuses) do redis.call('DEL', batchBase .. bid .. ':files:' .. s) end
end
for _, s in ipairs(statuses) do redis.call('DEL', base .. ':files:' .. s) end
redis.call('DEL', base .. ':files', base .. ':batches', base .. ':mailbox', KEYS[2])
return 1
