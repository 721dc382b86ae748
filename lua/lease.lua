#!lua name=wclease
--[[
The lease work queue (`queue = "lease"`), built only from commands that
RedisRaft replicates: a hash of units, a list of units never handed out, a
sorted set of leases scored by their deadline (ms), and these Functions.
No stream commands, no blocking commands, no TIME or other nondeterminism:
the client passes the time in (`now_ms`), so every node of a Raft cluster
replays a call to the same result. Loaded with FUNCTION LOAD REPLACE.

Every function gets the same KEYS, all sharing the job's {JOB} hash tag:

  1 UNITS   hash   unit id -> "START END PATH"
  2 TODO    list   ids not handed out yet
  3 LEASES  zset   id -> lease deadline in ms ('+inf': never expires)
  4 HOLDERS hash   id -> "TOKEN CONSUMER" of the current lease
  5 HELD    hash   consumer -> the id it holds
  6 DONE    set    ids whose counts were applied
  7 META    hash   total (units), token (last lease token)
  8 COUNTS  zset   word -> count
  9 STAGE   hash   word -> count staged by one consumer for one unit

wcl_claim KEYS... CONSUMER NOW_MS LEASE_MS
  The consumer's own unit if it still holds one (a reconnect or a restarted
  worker of the same name; the lease is renewed), else a unit whose lease
  expired before NOW_MS (stealing; only when LEASE_MS > 0), else the next
  new one. Replies {KIND, ID, TOKEN, UNIT} with KIND own|stolen|new, or
  {'none', LEASES_HELD} when there is nothing to take now.

wcl_commit KEYS... ID CONSUMER TOKEN [WORD COUNT]...
  In ONE atomic call: if ID is not done yet, ZINCRBY every inline pair and
  every field of STAGE into COUNTS, mark ID done and drop its lease. STAGE
  is deleted in every case. Replies 1 (applied under the caller's lease),
  2 (applied by a straggler whose lease was taken over: still exactly once,
  the thief's commit will be refused) or 0 (already done: nothing applied).

wcl_is_complete KEYS...
  1 when META exists and every unit is done, else 0.

Errors: 'NOJOB' when META is missing (the server lost the job: restarted
without a snapshot); the client queues the job again.
]]

local function lease_deadline(now, lease)
  if lease <= 0 then return '+inf' end
  return now + lease
end

local function holder_of(holders, id)
  local holder = redis.call('HGET', holders, id)
  if not holder then return nil, nil end
  local token, who = string.match(holder, '^(%d+) (.*)$')
  return token, who
end

local function release(held, who, id)
  if who and redis.call('HGET', held, who) == id then
    redis.call('HDEL', held, who)
  end
end

local function claim(keys, args)
  local units, todo, leases, holders, held, done, meta =
    keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7]
  local consumer = args[1]
  local now, lease = tonumber(args[2]), tonumber(args[3])
  if not consumer or not now or not lease then
    return redis.error_reply('ERR wcl_claim wants CONSUMER NOW_MS LEASE_MS')
  end
  if redis.call('EXISTS', meta) == 0 then
    return redis.error_reply('NOJOB the job is missing (server restarted without it?)')
  end
  local own = redis.call('HGET', held, consumer)
  if own then
    local token, who = holder_of(holders, own)
    if who == consumer and redis.call('SISMEMBER', done, own) == 0 then
      redis.call('ZADD', leases, lease_deadline(now, lease), own)
      return {'own', own, token, redis.call('HGET', units, own)}
    end
    redis.call('HDEL', held, consumer)
  end
  local kind, id = 'new', nil
  if lease > 0 then
    local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, 1)
    if #expired > 0 then
      id, kind = expired[1], 'stolen'
      local _, who = holder_of(holders, id)
      release(held, who, id)
    end
  end
  while not id do
    id = redis.call('LPOP', todo)
    if not id then
      return {'none', redis.call('ZCARD', leases)}
    end
    if redis.call('SISMEMBER', done, id) == 1 then id = nil end
  end
  local token = redis.call('HINCRBY', meta, 'token', 1)
  redis.call('ZADD', leases, lease_deadline(now, lease), id)
  redis.call('HSET', holders, id, token .. ' ' .. consumer)
  redis.call('HSET', held, consumer, id)
  return {kind, id, tostring(token), redis.call('HGET', units, id)}
end

local function commit(keys, args)
  local leases, holders, held, done, meta, counts, stage =
    keys[3], keys[4], keys[5], keys[6], keys[7], keys[8], keys[9]
  local id, consumer, token = args[1], args[2], args[3]
  if not id or not consumer or not token then
    return redis.error_reply('ERR wcl_commit wants ID CONSUMER TOKEN [WORD COUNT]...')
  end
  if redis.call('EXISTS', meta) == 0 then
    redis.call('DEL', stage)
    return redis.error_reply('NOJOB the job is missing (server restarted without it?)')
  end
  if redis.call('SISMEMBER', done, id) == 1 then
    redis.call('DEL', stage)
    release(held, consumer, id)
    return 0
  end
  for i = 4, #args - 1, 2 do
    redis.call('ZINCRBY', counts, args[i + 1], args[i])
  end
  -- HGETALL, not HSCAN: no cursor state, and ZINCRBYs commute, so the
  -- field order of one node's hash does not matter.
  local staged = redis.call('HGETALL', stage)
  for i = 1, #staged - 1, 2 do
    redis.call('ZINCRBY', counts, staged[i + 1], staged[i])
  end
  redis.call('DEL', stage)
  redis.call('SADD', done, id)
  redis.call('ZREM', leases, id)
  local holder_token, who = holder_of(holders, id)
  release(held, who, id)
  release(held, consumer, id)
  redis.call('HDEL', holders, id)
  if holder_token == token and who == consumer then return 1 end
  return 2
end

local function is_complete(keys, args)
  local done, meta = keys[6], keys[7]
  local total = redis.call('HGET', meta, 'total')
  if not total then return 0 end
  if redis.call('SCARD', done) == tonumber(total) then return 1 end
  return 0
end

redis.register_function('wcl_claim', claim)
redis.register_function('wcl_commit', commit)
redis.register_function('wcl_is_complete', is_complete)
