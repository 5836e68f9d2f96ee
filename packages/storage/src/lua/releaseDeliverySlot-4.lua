--[[
  Gives back an in-flight slot and pops a parked job for the caller to wake, in one step
  (services/webhooks: a first attempt's kept slot when it lapses, a job's slot after its attempt):
  was two ZREMs and a ZPOPMIN, two round trips (issue 14). The job popped is the longest-parked
  of those waiting for this target's limit, else of those waiting for the project's: a job parked
  for another target, still full, would only park again, and this slot's own waiter would sleep
  its safety wait (22.5-37.5 s).
  KEYS[1] project in-flight zset   KEYS[2] target in-flight zset   KEYS[3] project parked zset
  KEYS[4] target parked zset
  ARGV[1] the slot's member
  returns the parked job id popped, or '' when none waits
]]
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('ZPOPMIN', KEYS[4])[1] or redis.call('ZPOPMIN', KEYS[3])[1] or ''
