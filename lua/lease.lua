#!lua name=wclease
--[[
The lease work queue (`queue = "lease"`), built only from commands that
RedisRaft replicates: a hash of units, a list of units never handed out, a
sorted set of leases scored by their deadline (ms), and these Functions.
No stream commands, no blocking commands, no TIME or other nondeterminism:
the client passes the time in (`now_ms`), so every node of a Raft cluster
replays a call to the same result. Loaded with FUNCTION LOAD REPLACE, with
lua/merge.lua spliced in after the first line (the merge targets).

Every function gets the same KEYS, all sharing the job's {JOB} hash tag:

  1 UNITS   hash   unit id -> "START END PATH"
  2 TODO    list   ids not handed out yet
  3 LEASES  zset   id -> lease deadline in ms ('+inf': never expires)
  4 HOLDERS hash   id -> "TOKEN CONSUMER" of the current lease
  5 APPLIED hash   id -> "I C": chunks 1..I of the unit's C applied
  6 DONE    set    ids whose counts were applied
  7 META    hash   total (units), token (last lease token)
  8 TARGET  key    where the counts go (lua/merge.lua): the counts sorted
                   set, the counts hash, or this commit's part
  9 PARTS   set    the part keys (merge parts)

wcl_claim KEYS... CONSUMER NOW_MS LEASE_MS OWN_AFTER
  With OWN_AFTER a number: the lowest-numbered unit above OWN_AFTER this
  consumer still holds (after a reconnect, or a restarted worker of the same
  name: it re-reads its own units first, one per call; the lease is
  renewed). Else (or with OWN_AFTER '-') a unit whose lease expired before
  NOW_MS (stealing; only when LEASE_MS > 0), else the next new one. Replies
  {KIND, ID, TOKEN, UNIT} with KIND own|stolen|new, or {'none', LEASES_HELD}
  when there is nothing to take now.

wcl_commit KEYS... MERGE CONSUMER NOW_MS LEASE_MS CHUNK CHUNKS N ID1 TOKEN1 .. IDN TOKENN PAYLOAD...
  One commit of N units (N > 1: the combiner; their counts merged by the
  worker), or chunk CHUNK of CHUNKS of one unit's commit (N = 1). PAYLOAD
  is WORD COUNT pairs (zset, hash) or the one BLOB (parts; never chunked).
  In ONE atomic call: if every ID is still leased by CONSUMER with its
  TOKEN and not done, the payload is applied; after the last chunk every
  ID is marked done and its lease dropped, after an earlier chunk the
  unit's APPLIED counter advances to CHUNK and its lease is renewed
  (NOW_MS + LEASE_MS). Otherwise nothing is applied. Replies
    1  applied,
    3  chunk CHUNK was applied already (a retry after an unknown outcome, or
       a thief resuming where the dead holder stopped): nothing applied,
    0  refused: some unit is done already (a duplicate) or no longer this
       consumer's (its lease was taken over; the thief commits it).
  Chunks are exactly once per unit: a unit's chunks are deterministic (the
  worker cuts its counts, sorted, into CHUNKS pieces), and the APPLIED
  counter is checked and advanced in the same call that applies a chunk,
  so a thief that recounts the unit skips the chunks the dead holder
  applied and applies the rest; each call stays short (RedisRaft holds its
  log while a call runs: one longer than the election timeout triggers an
  election).

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

local function job_missing(meta)
  if redis.call('EXISTS', meta) == 0 then
    return redis.error_reply('NOJOB the job is missing (server restarted without it?)')
  end
  return nil
end

-- The lowest-numbered unit above `after` that `consumer` holds, and its token.
local function own_unit(holders, consumer, after)
  local all = redis.call('HGETALL', holders)
  local best, best_token = nil, nil
  for i = 1, #all - 1, 2 do
    local id = tonumber(all[i])
    local token, who = string.match(all[i + 1], '^(%d+) (.*)$')
    if who == consumer and id and id > after and (not best or id < best) then
      best, best_token = id, token
    end
  end
  if best then return tostring(best), best_token end
  return nil, nil
end

local function claim(keys, args)
  local units, todo, leases, holders, done, meta =
    keys[1], keys[2], keys[3], keys[4], keys[6], keys[7]
  local consumer = args[1]
  local now, lease = tonumber(args[2]), tonumber(args[3])
  if not consumer or not now or not lease or not args[4] then
    return redis.error_reply('ERR wcl_claim wants CONSUMER NOW_MS LEASE_MS OWN_AFTER')
  end
  local missing = job_missing(meta)
  if missing then return missing end
  local after = tonumber(args[4])
  if after then
    local own, token = own_unit(holders, consumer, after)
    if own then
      redis.call('ZADD', leases, lease_deadline(now, lease), own)
      return {'own', own, token, redis.call('HGET', units, own)}
    end
  end
  local kind, id = 'new', nil
  if lease > 0 then
    local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, 1)
    if #expired > 0 then
      id, kind = expired[1], 'stolen'
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
  return {kind, id, tostring(token), redis.call('HGET', units, id)}
end

local function commit(keys, args)
  local leases, holders, applied, done, meta, target, parts =
    keys[3], keys[4], keys[5], keys[6], keys[7], keys[8], keys[9]
  local merge, consumer = args[1], args[2]
  local now, lease = tonumber(args[3]), tonumber(args[4])
  local chunk, chunks, n = tonumber(args[5]), tonumber(args[6]), tonumber(args[7])
  if not known_merge(merge) or not consumer or not now or not lease or not chunk
    or not chunks or not n or n < 1 or chunk < 1 or chunk > chunks
    or (chunks > 1 and (n ~= 1 or merge == 'parts')) or #args < 7 + 2 * n then
    return redis.error_reply('ERR wcl_commit wants MERGE CONSUMER NOW_MS LEASE_MS'
      .. ' CHUNK CHUNKS N ID1 TOKEN1 .. IDN TOKENN PAYLOAD... (chunks only for one unit)')
  end
  local missing = job_missing(meta)
  if missing then return missing end
  local ids = {}
  for i = 1, n do
    local id, token = args[6 + 2 * i], args[7 + 2 * i]
    if redis.call('SISMEMBER', done, id) == 1 then return 0 end
    local holder_token, who = holder_of(holders, id)
    if holder_token ~= token or who ~= consumer then return 0 end
    ids[i] = id
  end
  if chunks > 1 then
    local state = redis.call('HGET', applied, ids[1])
    local through, of = 0, chunks
    if state then
      through, of = string.match(state, '^(%d+) (%d+)$')
      through, of = tonumber(through), tonumber(of)
    end
    if of ~= chunks then
      return redis.error_reply('ERR unit ' .. ids[1] .. ' was cut into ' .. tostring(of)
        .. ' chunks, not ' .. chunks .. ': every worker of a job needs the same pipeline size')
    end
    if chunk <= through then return 3 end
    if chunk ~= through + 1 then
      return redis.error_reply('ERR chunk ' .. chunk .. ' of unit ' .. ids[1]
        .. ' sent before chunk ' .. (through + 1))
    end
  end
  merge_payload(merge, target, parts, args, 8 + 2 * n)
  if chunk < chunks then
    redis.call('HSET', applied, ids[1], chunk .. ' ' .. chunks)
    redis.call('ZADD', leases, lease_deadline(now, lease), ids[1])
    return 1
  end
  redis.call('HDEL', applied, unpack(ids))
  redis.call('SADD', done, unpack(ids))
  redis.call('ZREM', leases, unpack(ids))
  redis.call('HDEL', holders, unpack(ids))
  return 1
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
