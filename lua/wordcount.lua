#!lua name=wordcount
--[[
The word-count Redis Function library (Lab 3), loaded by every worker with
FUNCTION LOAD REPLACE on every (re)connect (functions vanish when a server
restarts without persistence).

wc_commit: the atomic commit of one unit, or of a batch of N units merged
by the worker (the combiner, run parameter commit_units).

  FCALL wc_commit 4 STREAM TARGET STAGE PARTS GROUP MERGE CONSUMER N ID1..IDN PAYLOAD...

MERGE names the merge target (lua/merge.lua, spliced in after the first
line when the library is loaded: see src/queue/merge.rs):
PAYLOAD is WORD COUNT pairs (zset, hash; more pairs may be staged in the
STAGE hash) or the one BLOB of counts (parts).

In ONE atomic call:
- N = 1: XACK STREAM GROUP ID1; only if XACK returned 1 (this call is the
  first to acknowledge the message) the counts are applied.
- N > 1: first checks that every ID is still pending AND owned by
  CONSUMER (XPENDING ... ID ID 1); if any is not (it was stolen, or
  already acknowledged), nothing is acknowledged or applied and the call
  returns 0: the worker then commits the units it still holds one by one.
  Otherwise it acknowledges all N and applies the merged counts.
The STAGE key is deleted in every case. Returns 1 when the counts were
applied, 0 when they were not (a duplicate commit, e.g. a straggler whose
unit was stolen and committed by a thief): a unit is counted exactly once.

Chunking. The worker sends the pairs inline (arguments of a few MB are
fine for Redis) up to a large number of distinct words; only a commit with
more than that stages them first into
STAGE = wc:{JOB}:stage:{ID1}:{CONSUMER} with pipelined HSET WORD COUNT
chunks and then calls wc_commit with no inline pairs. Staging is
idempotent: every distinct word lives in exactly one chunk and HSET
overwrites with the same value, so re-sending a chunk (after a reconnect,
or a restarted consumer recounting its own pending unit) changes nothing.
The stage key names the consumer, so a thief and a straggler working on
the same message never mix their stages; only the one whose wc_commit wins
applies its stage, the loser's stage is deleted unapplied. Stages of
crashed workers expire (PEXPIRE set by the worker while staging). Every
key shares the {JOB} hash tag: one slot.
]]

local function owned_by(stream, group, id, consumer)
  local entry = redis.call('XPENDING', stream, group, id, id, 1)
  return #entry == 1 and entry[1][2] == consumer
end

local function apply(merge, target, parts, stage, args, first)
  merge_payload(merge, target, parts, args, first)
  if merge == 'parts' then return end
  local cursor = '0'
  repeat
    local reply = redis.call('HSCAN', stage, cursor, 'COUNT', 1000)
    cursor = reply[1]
    merge_pairs(merge, target, reply[2], 1)
  until cursor == '0'
end

local function commit(keys, args)
  local stream, target, stage, parts = keys[1], keys[2], keys[3], keys[4]
  local group, merge, consumer = args[1], args[2], args[3]
  local n = tonumber(args[4])
  local ids = {}
  for i = 1, n do ids[i] = args[4 + i] end
  if n > 1 then
    for i = 1, n do
      if not owned_by(stream, group, ids[i], consumer) then
        redis.call('DEL', stage)
        return 0
      end
    end
  end
  local acked = redis.call('XACK', stream, group, unpack(ids))
  local applied = 0
  if acked == n then
    apply(merge, target, parts, stage, args, 5 + n)
    applied = 1
  end
  redis.call('DEL', stage)
  return applied
end

redis.register_function('wc_commit', commit)
