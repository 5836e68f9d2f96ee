--[[
  Appends several events to a run's live stream in one command: the worker's first delta with
  the four events that open its message. A blocked reader is woken once, after the last of them,
  and gets them in one reply, as with a MULTI of XADDs; one command instead of seven is what it
  saves (the worker builds and sends it on the relay's critical path, issue 14).
  KEYS[1] the run's live stream
  ARGV[1] approximate MAXLEN   ARGV[2] the claim's fencing token
  ARGV[3], ARGV[4], … one event name and its data (JSON) per entry, in order
  returns the number of entries appended: 0 when the stream does not exist (NOMKSTREAM, as the
  single appends: an append after the thread was deleted never leaves a key without a TTL)
]]
local n = 0
for i = 3, #ARGV - 1, 2 do
  if not redis.call('XADD', KEYS[1], 'NOMKSTREAM', 'MAXLEN', '~', ARGV[1], '*', 'event', ARGV[i], 'data', ARGV[i + 1], 'fence', ARGV[2]) then return n end
  n = n + 1
end
return n
