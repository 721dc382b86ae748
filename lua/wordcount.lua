#!lua name=wordcount
--[[
The word-count Redis Function library (Lab 3), loaded by every worker with
FUNCTION LOAD REPLACE on every (re)connect (functions vanish when a server
restarts without persistence).

wc_commit: the atomic commit of one unit.

  FCALL wc_commit 3 STREAM COUNTS STAGE GROUP MSGID [WORD COUNT]...

In ONE atomic call: XACK STREAM GROUP MSGID; only if XACK returned 1 (this
call is the first to acknowledge the message) add every inline WORD COUNT
pair and every field of the STAGE hash to the COUNTS sorted set with
ZINCRBY. The STAGE key is deleted in every case. Returns 1 when the counts
were applied, 0 when the message was already acknowledged (a duplicate
commit, e.g. a straggler whose unit was stolen and committed by a thief):
nothing is applied then, so a unit is counted exactly once.

Chunking. A unit with very many distinct words does not fit one call's
arguments comfortably, so the worker first stages the pairs into
STAGE = wc:{JOB}:stage:{MSGID}:{CONSUMER} with pipelined HSET WORD COUNT
(chunks of at most `pipeline` pairs) and then calls wc_commit with no inline
pairs. Staging is idempotent: every distinct word of a unit lives in exactly
one chunk and HSET overwrites with the same value, so re-sending a chunk
(after a reconnect, or a restarted consumer recounting its own pending unit)
changes nothing. The stage key names the consumer, so a thief and a
straggler working on the same message never mix their stages; only the one
whose wc_commit wins the XACK applies its stage, the loser's stage is
deleted unapplied. Stages of crashed workers expire (PEXPIRE set by the
worker while staging). Every key shares the {JOB} hash tag: one slot.
]]

local function commit(keys, args)
  local stream, counts, stage = keys[1], keys[2], keys[3]
  local group, id = args[1], args[2]
  local acked = redis.call('XACK', stream, group, id)
  if acked == 1 then
    for i = 3, #args - 1, 2 do
      redis.call('ZINCRBY', counts, args[i + 1], args[i])
    end
    local cursor = '0'
    repeat
      local reply = redis.call('HSCAN', stage, cursor, 'COUNT', 1000)
      cursor = reply[1]
      local pairs = reply[2]
      for i = 1, #pairs - 1, 2 do
        redis.call('ZINCRBY', counts, pairs[i + 1], pairs[i])
      end
    until cursor == '0'
  end
  redis.call('DEL', stage)
  if acked == 1 then return 1 end
  return 0
end

redis.register_function('wc_commit', commit)
