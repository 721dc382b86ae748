#!/usr/bin/env python3
"""Lab 2 worker (protocol version 1, docs/PROTOCOL.md): XREADGROUP one unit,
count it, ZINCRBY each distinct word, then XACK. No stealing and no
atomicity: a crash between the increments and the XACK, or a unit held
by a dead worker, breaks the job. `harness chaos` catches it.

    harness count BOOKS --mode redis --workers 2 \\
        --worker-cmd 'python3 examples/python-worker/naive.py'
"""

import sys

from common import Job, count_range, decode, retrying


def main():
    job = Job()
    state = {}
    while True:
        reply = retrying(job, state, lambda r: r.xreadgroup(
            job.group, job.consumer, {job.stream: ">"}, count=1, block=100))
        entries = reply[0][1] if reply else []
        if not entries:
            return 0  # nothing new: done (Lab 2 does not look at pending units)
        message_id, fields = entries[0]
        job.taken += 1
        job.crash_at("after-read")
        path, start, end = decode(fields)
        counts = count_range(job, path, start, end)
        job.crash_at("before-commit")
        words = list(counts.items())
        half = len(words) // 2
        for part, (lo, hi) in enumerate(((0, half), (half, len(words)))):
            def send(r, lo=lo, hi=hi):
                pipe = r.pipeline(transaction=False)
                for word, n in words[lo:hi]:
                    pipe.zincrby(job.counts, n, word)
                pipe.execute()
            retrying(job, state, send)
            if part == 0:
                job.crash_at("mid-commit")
        retrying(job, state, lambda r: r.xack(job.stream, job.group, message_id))
        job.crash_at("after-commit")


if __name__ == "__main__":
    sys.exit(main())
