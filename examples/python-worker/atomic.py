#!/usr/bin/env python3
"""Lab 3 worker (protocol version 1, docs/PROTOCOL.md): XREADGROUP one unit,
count it, then acknowledge and merge it in ONE FCALL of lib.lua (applied
only if the unit is still ours and XACK returned 1); steal units idle
longer than WC_AUTOCLAIM_MS with XAUTOCLAIM; honour WC_CRASH; exit when
nothing is left to read and nothing is pending.

Run it with the harness (the harness loads lib.lua for it):
    harness count BOOKS --mode redis --workers 2 --autoclaim-ms 1000 \\
        --worker-cmd 'python3 examples/python-worker/atomic.py' \\
        --worker-functions examples/python-worker/lib.lua
"""

import sys
import time

from common import Job, count_range, decode, retrying


def take(job, state, backlog):
    """The next unit: our own pending ones first (a restarted worker), then
    a stolen one (idle > WC_AUTOCLAIM_MS), then a new one."""
    if backlog["own"]:
        reply = retrying(job, state, lambda r: r.xreadgroup(
            job.group, job.consumer, {job.stream: backlog["after"]}, count=1))
        entries = reply[0][1] if reply else []
        if entries:
            backlog["after"] = entries[0][0]
            return entries[0]
        backlog["own"] = False
    if job.autoclaim_ms > 0:
        reply = retrying(job, state, lambda r: r.xautoclaim(
            job.stream, job.group, job.consumer, job.autoclaim_ms, "0-0", count=1))
        claimed = [e for e in reply[1] if e[1]] if reply else []
        if claimed:
            return claimed[0]
    reply = retrying(job, state, lambda r: r.xreadgroup(
        job.group, job.consumer, {job.stream: ">"}, count=1, block=100))
    entries = reply[0][1] if reply else []
    return entries[0] if entries else None


def commit(job, state, message_id, counts):
    args = [job.group, job.consumer, message_id]
    for word, n in counts.items():
        args.extend((word, n))
    return retrying(job, state, lambda r: r.fcall(
        "byo_commit", 2, job.stream, job.counts, *args))


def main():
    job = Job()
    state = {}
    backlog = {"own": True, "after": "0"}
    while True:
        entry = take(job, state, backlog)
        if entry is None:
            pending = retrying(job, state, lambda r: r.xpending(job.stream, job.group))
            if pending["pending"] == 0:
                return 0
            time.sleep(0.05)  # others hold units: wait, maybe steal them later
            continue
        message_id, fields = entry
        job.taken += 1
        job.crash_at("after-read")
        path, start, end = decode(fields)
        counts = count_range(job, path, start, end)
        job.crash_at("before-commit")
        job.crash_at("mid-commit")  # one call: nothing of it sent yet
        commit(job, state, message_id, counts)
        job.crash_at("after-commit")


if __name__ == "__main__":
    sys.exit(main())
