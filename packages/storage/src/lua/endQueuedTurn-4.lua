--[[
  Ends a turn that has not started (cancelled by the client, or failed at start): it leaves the
  mailbox and its `thread.turn.<status>` event is recorded.
  KEYS[1] thread hash   KEYS[2] turn hash   KEYS[3] mailbox list   KEYS[4] shard outbox stream
  ARGV[1] project, or '' (a worker: no ownership check)   ARGV[2] turn id   ARGV[3] JSON { turn = [field, value, …], event = [evt, type, data, callback_url],
          thread, created_at } (no pub/sub nudge: dispatchers block on the stream itself)
  returns 'OK' | 'NOT_FOUND' | 'STATUS:<turn status JSON>'
]]
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return 'NOT_FOUND' end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return 'NOT_FOUND' end
if status ~= '"queued"' then return 'STATUS:' .. status end
local plan = cjson.decode(ARGV[3])
redis.call('HSET', KEYS[2], unpack(plan.turn))
redis.call('LREM', KEYS[3], 1, 'turn:' .. ARGV[2])
local e = plan.event
redis.call('XADD', KEYS[4], '*', 'evt', e[1], 'type', e[2], 'project', plan.project, 'thread', plan.thread,
  'created_at', plan.created_at, 'data', e[3], 'callback_url', e[4])
return 'OK'
