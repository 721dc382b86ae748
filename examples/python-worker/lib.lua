#!lua name=wc_byo_atomic
-- The Lab 3 commit of examples/python-worker/atomic.py, in ONE call:
--   FCALL byo_commit 2 STREAM COUNTS GROUP CONSUMER ID WORD1 N1 WORD2 N2 ...
-- Applies the counts only if message ID is still pending at CONSUMER and
-- its XACK returns 1 (so a unit stolen meanwhile, or committed already,
-- is never counted twice). Returns 1 when applied, 0 when refused.
redis.register_function('byo_commit', function(keys, args)
  local stream, counts = keys[1], keys[2]
  local group, consumer, id = args[1], args[2], args[3]
  local entry = redis.call('XPENDING', stream, group, id, id, 1)
  if #entry == 0 or entry[1][2] ~= consumer then
    return 0
  end
  if redis.call('XACK', stream, group, id) ~= 1 then
    return 0
  end
  for i = 4, #args, 2 do
    redis.call('ZINCRBY', counts, args[i + 1], args[i])
  end
  return 1
end)
