--[[
  Records one delivery attempt in one step: appends it to the owner's log (kept bounded), moves
  the owner's failure streak (services/webhooks decides from it whether to pause or disable the
  endpoint), counts the attempt in the event record (storing the event body first when the
  attempt came straight from the outbox), and gives back the attempt's in-flight slot.
  KEYS[1] owner hash (carries _project: the endpoint, or the project's signing-secret hash)
  KEYS[2] delivery index zset (score = sequence)   KEYS[3] delivery hash
  KEYS[4] event hash   KEYS[5] project in-flight zset   KEYS[6] target in-flight zset   KEYS[7] project parked zset
  KEYS[8] target parked zset (jobs waiting for this target's limit: woken before the project's)
  ARGV[1] project   ARGV[2] delivery id
  ARGV[3] '<max>:<every>': deliveries kept, and every how many records the log is trimmed back to it
  ARGV[4] delivery key prefix
  ARGV[5] streak: 'success' (resets it) | 'failure' (extends it) | 'none'   ARGV[6] now (unix ms)
  ARGV[7] attempt counter field of the event hash ('_attempts:<owner>'), or '' to keep the
          'attempt' field given below
  ARGV[8] event retention (s) when event fields follow, else 0
  ARGV[9] in-flight slot member to release, or ''
  ARGV[10] '' or, for a delivered callback attempt its committer made itself (services/worker
          direct-callbacks.ts), settleDirectAttempt-2.lua's delivered settle, done here after the
          record (its EVALSHA and round trip fewer a turn; issue 14): JSON [outbox stream key,
          (callback, thread) FIFO key, group, entry id, FIFO member]. Those keys are in the
          shard's slot, not declared: single Redis only, as that path is.
  ARGV[11] n = number of event field, value pairs that follow (0 unless ARGV[8] > 0)
  ARGV[12 .. 11+2n] event fields (body, type, thread, callback_url)
  ARGV[12+2n] '1' when the caller has just read the owner (it exists, it is this project's), else '0'
  ARGV[13+2n ..] field, value pairs of the delivery (JSON values)
  returns { consecutive failures, streak start (unix ms, 0 when none; both 0 for 'none': not
  read), attempt number (0 when ARGV[7] is ''), parked job to wake or '', the settle's
  { 1 | -1, FIFO head or '' } as settleDirectAttempt-2.lua returns it (empty without ARGV[10]) },
  or false when the owner is gone or another project's (the attempt is then not recorded, nor
  settled; the slot is still released)
]]
local released = ''
if ARGV[9] ~= '' then
  redis.call('ZREM', KEYS[5], ARGV[9])
  redis.call('ZREM', KEYS[6], ARGV[9])
  -- A job parked for this very target can use the slot; else the project's longest-parked one
  -- (waiting for the project's limit). A job parked for another target, still full, would only
  -- park again, and this slot's own waiter would sleep its safety wait (22.5-37.5 s).
  released = redis.call('ZPOPMIN', KEYS[8])[1] or redis.call('ZPOPMIN', KEYS[7])[1] or ''
end
-- ARGV[12+2n] '1': the caller has just read the owner (a callback's project secret), skip the check.
if ARGV[12 + 2 * tonumber(ARGV[11])] ~= '1' and redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return false end

-- The delivered settle (ARGV[10]): as settleDirectAttempt-2.lua's for a delivered attempt; it
-- must stay the same rule (Redis scripts cannot share code; webhook-direct-attempt.test.ts runs both).
local settled = {}
if ARGV[10] ~= '' then
  local d = cjson.decode(ARGV[10])
  local stream, fifo, group, entry, member = d[1], d[2], d[3], d[4], d[5]
  if redis.call('XACK', stream, group, entry) == 0 then
    settled = { -1, '' }
  else
    local two = redis.call('ZPOPMIN', fifo, 2)
    if two[1] == member then
      if two[3] then redis.call('ZADD', fifo, two[4], two[3]) end
      settled = { 1, two[3] or '' }
    else
      for i = 1, #two, 2 do redis.call('ZADD', fifo, two[i + 1], two[i]) end
      redis.call('ZREM', fifo, member)
      settled = { 1, redis.call('ZRANGE', fifo, 0, 0)[1] or '' }
    end
  end
end
local n = tonumber(ARGV[11])
local first = 13 + 2 * n
local attempt = nil
if ARGV[7] ~= '' then
  attempt = redis.call('HINCRBY', KEYS[4], ARGV[7], 1)
  if tonumber(ARGV[8]) > 0 then
    redis.call('HSET', KEYS[4], unpack(ARGV, 12, first - 2))
    redis.call('EXPIRE', KEYS[4], ARGV[8])
  else
    -- Should the record have expired just now, HINCRBY must not leave a key without a TTL.
    redis.call('EXPIRE', KEYS[4], 86400, 'NX')
  end
end

local seq = redis.call('HINCRBY', KEYS[1], '_dseq', 1)
if attempt then
  redis.call('HSET', KEYS[3], '_project', ARGV[1], '_owner', KEYS[1], 'attempt', attempt, unpack(ARGV, first))
else
  redis.call('HSET', KEYS[3], '_project', ARGV[1], '_owner', KEYS[1], unpack(ARGV, first))
end
redis.call('ZADD', KEYS[2], seq, ARGV[2])
-- Scores are the owner's sequence numbers, one per delivery: the log cannot exceed the bound
-- before the sequence does. Trimmed every `every`th record only, all of the excess at once with
-- one DEL (issue 14: 3 commands a record became ~3 per `every`): the log holds `max` attempts
-- right after a trim and at most `max + every - 1` in between.
local max, every = string.match(ARGV[3], '^(%d+):(%d+)$')
max, every = tonumber(max), tonumber(every)
if seq > max and seq % every == 0 then
  local excess = redis.call('ZCARD', KEYS[2]) - max
  if excess > 0 then
    local old = redis.call('ZPOPMIN', KEYS[2], excess)
    local dels = {}
    for i = 1, #old, 2 do dels[#dels + 1] = ARGV[4] .. old[i] end
    redis.call('DEL', unpack(dels))
  end
end
local failures, since = 0, 0
if ARGV[5] == 'success' then
  redis.call('HSET', KEYS[1], '_fail_count', 0, '_fail_since', 0)
elseif ARGV[5] == 'failure' then
  failures = redis.call('HINCRBY', KEYS[1], '_fail_count', 1)
  since = tonumber(redis.call('HGET', KEYS[1], '_fail_since') or '0')
  if since == 0 then
    since = tonumber(ARGV[6])
    redis.call('HSET', KEYS[1], '_fail_since', ARGV[6])
  end
end
return { failures, since, attempt or 0, released, settled }
