--[[
  The worker begins (or, after a crash, begins again) ingesting a file of the store's mailbox:
  counts the attempt, so a file that keeps killing workers ends `failed` instead of looping. A
  batch's later files are only looked at (ARGV[3] = '0'): their attempts count once each is the
  head, so a crash mid-batch is charged to the head alone (services/worker ingest-batch.ts).
  KEYS[1] store file hash   KEYS[2] store fence   KEYS[3] store hash
  ARGV[1] fence   ARGV[2] file generation (from the mailbox item)   ARGV[3] '1' count (default) | '0' look only
  returns { 'OK', attempts (after counting), file HGETALL } | { 'FENCED' } | { 'STALE' } (removed, cancelled or attached again)
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return { 'FENCED' } end
if redis.call('EXISTS', KEYS[3]) == 0 or redis.call('HGET', KEYS[1], '_gen') ~= ARGV[2]
  or redis.call('HGET', KEYS[1], 'status') ~= '"in_progress"' then return { 'STALE' } end
local attempts
if ARGV[3] == '0' then
  attempts = tonumber(redis.call('HGET', KEYS[1], '_attempts') or '0')
else
  attempts = redis.call('HINCRBY', KEYS[1], '_attempts', 1)
end
return { 'OK', attempts, redis.call('HGETALL', KEYS[1]) }
