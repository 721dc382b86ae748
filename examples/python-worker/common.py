"""What both example workers share: the contract's environment, the
connection (plain or through Sentinel), retrying transient errors, the
word definition and the crash points. Protocol version 1 (docs/PROTOCOL.md)."""

import collections
import os
import sys
import time

import redis

BOM = b"\xef\xbb\xbf"
CRASH_EXIT = 86  # the contract's status for a crash on purpose
CHUNK = 1 << 20
RETRY_S = 30.0  # give up after this long without Redis


class Job:
    """The contract's environment, read once."""

    def __init__(self):
        env = os.environ
        self.url = env["REDIS_URL"]
        self.sentinels = env.get("REDIS_SENTINELS", "")
        self.master = env.get("REDIS_MASTER_NAME", "")
        self.password = env.get("REDIS_PASSWORD") or None
        self.stream = env["WC_STREAM"]
        self.group = env["WC_GROUP"]
        self.consumer = env["WC_CONSUMER"]
        self.counts = env["WC_COUNTS"]
        self.autoclaim_ms = int(env.get("WC_AUTOCLAIM_MS") or 0)
        self.crash = env.get("WC_CRASH", "")
        self.crash_nth = int(env.get("WC_CRASH_NTH") or 1)
        self.taken = 0  # units taken by this process (for WC_CRASH_NTH)

    def connect(self):
        if self.sentinels:
            from redis.sentinel import Sentinel

            hosts = []
            for host in self.sentinels.split(","):
                name, port = host.rsplit(":", 1)
                hosts.append((name, int(port)))
            sentinel = Sentinel(
                hosts,
                socket_timeout=5,
                password=self.password,
                sentinel_kwargs={"password": self.password, "socket_timeout": 1},
            )
            return sentinel.master_for(self.master, socket_timeout=30)
        return redis.Redis.from_url(self.url, socket_timeout=30)

    def crash_at(self, point):
        """Exits at once (no cleanup) when this is the crash point asked for."""
        if self.crash == point and self.taken == self.crash_nth:
            sys.stderr.write(f"{self.consumer}: crashing on purpose at {point}\n")
            sys.stderr.flush()
            os._exit(CRASH_EXIT)


TRANSIENT = ("LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "NOREPLICAS", "READONLY",
             "NOGROUP", "CLUSTERDOWN", "Function not found", "NOSCRIPT")


def retrying(job, state, action):
    """Runs action(connection), reconnecting and retrying while Redis is
    down, loading, failing over or refusing writes; gives up after RETRY_S."""
    give_up = time.monotonic() + RETRY_S
    while True:
        try:
            if state.get("con") is None:
                state["con"] = job.connect()
            return action(state["con"])
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as error:
            if isinstance(error, redis.ResponseError) and not any(
                word in str(error) for word in TRANSIENT
            ):
                raise
            if time.monotonic() > give_up:
                raise
            state["con"] = None
            time.sleep(0.1)


def count_range(job, path, start, end):
    """Counts the words of bytes start..end of the file: maximal runs of
    non-whitespace bytes, ASCII letters lowercased, a leading BOM skipped.
    Honours the mid-count crash point halfway through the range."""
    counts = collections.Counter()
    carry = b""
    half = start + (end - start) // 2
    with open(path, "rb") as f:
        f.seek(start)
        at = start
        while at < end:
            want = min(CHUNK, end - at)
            if at < half:
                want = min(want, half - at)
            if at == 0:
                want = max(want, min(len(BOM), end))
            chunk = f.read(want)
            if not chunk:
                break
            first = at == 0
            at += len(chunk)
            if first and chunk.startswith(BOM):
                chunk = chunk[len(BOM):]
            data = carry + chunk.lower()
            words = data.split()
            carry = b""
            if at < end and words and not data[-1:].isspace():
                carry = words.pop()
            counts.update(words)
            if at >= half:
                job.crash_at("mid-count")
    if carry:
        counts[carry] += 1
    job.crash_at("mid-count")
    return counts


def decode(fields):
    path = fields[b"path"]
    return path, int(fields[b"start"]), int(fields[b"end"])
