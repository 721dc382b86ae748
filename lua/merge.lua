--[[
The merge targets (src/queue/merge.rs), shared by both Function libraries:
the client splices this file into `wordcount.lua` and `lease.lua` right
after their `#!lua` line (src/queue/merge.rs, `function_library`), so the
one definition of "apply counts to a target" serves both queues.

MERGE names the target:
  zset   TARGET is the counts sorted set: ZINCRBY TARGET COUNT WORD
  hash   TARGET is the counts hash:       HINCRBY TARGET WORD COUNT
  parts  TARGET is this commit's part key: SET TARGET BLOB, SADD PARTS TARGET
]]

-- Adds the WORD COUNT pairs of `list` from index `first` on into TARGET
-- (zset or hash).
local function merge_pairs(merge, target, list, first)
  local zset = merge == 'zset'
  for i = first, #list - 1, 2 do
    if zset then
      redis.call('ZINCRBY', target, list[i + 1], list[i])
    else
      redis.call('HINCRBY', target, list[i], list[i + 1])
    end
  end
end

-- Applies one commit's payload, `args` from index `first` on: WORD COUNT
-- pairs (zset, hash), or the one BLOB of counts stored as part TARGET
-- (parts; writing it twice writes the same bytes).
local function merge_payload(merge, target, parts, args, first)
  if merge == 'parts' then
    redis.call('SET', target, args[first])
    redis.call('SADD', parts, target)
  else
    merge_pairs(merge, target, args, first)
  end
end

-- Whether MERGE names a target.
local function known_merge(merge)
  return merge == 'zset' or merge == 'hash' or merge == 'parts'
end

