--[[
  The worker begins (or, after a crash, begins again) ingesting the store mailbox's head file:
  counts the attempt, so a file that keeps killing workers ends `failed` instead of looping.
  KEYS[1] store file hash   KEYS[2] store fence   KEYS[3] store hash
  ARGV[1] fence   ARGV[2] file generation (from the mailbox item)
  returns { 'OK', attempts, file HGETALL } | { 'FENCED' } | { 'STALE' } (removed, cancelled or attached again)
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return { 'FENCED' } end
if redis.call('EXISTS', KEYS[3]) == 0 or redis.call('HGET', KEYS[1], '_gen') ~= ARGV[2]
  or redis.call('HGET', KEYS[1], 'status') ~= '"in_progress"' then return { 'STALE' } end
return { 'OK', redis.call('HINCRBY', KEYS[1], '_attempts', 1), redis.call('HGETALL', KEYS[1]) }
