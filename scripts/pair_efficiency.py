#!/usr/bin/env python3
"""Paired efficiency: alternates serial and parallel runs of the same input so
slow drifts of the host affect both alike; prints the median of per-pair E."""
import subprocess, sys, time, statistics
if len(sys.argv) != 5:
    sys.exit("usage: pair_efficiency.py HARNESS INPUT MODE PAIRS  (e.g. target/release/harness big.txt processes 21)")
harness, inp, mode, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def run(args):
    t = time.perf_counter()
    subprocess.run([harness, "count", inp, "--top", "0"] + args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
run(["--mode", "serial"]); run(["--mode", mode, "--workers", "2"])
ser, par, eff = [], [], []
for i in range(reps):
    if i % 2 == 0:
        s = run(["--mode", "serial"]); p = run(["--mode", mode, "--workers", "2"])
    else:
        p = run(["--mode", mode, "--workers", "2"]); s = run(["--mode", "serial"])
    ser.append(s); par.append(p); eff.append(s / (2 * p))
print(f"{inp} {mode}: pairs={reps} serial median {statistics.median(ser)*1000:.1f} ms, "
      f"{mode} median {statistics.median(par)*1000:.1f} ms, E of medians {statistics.median(ser)/(2*statistics.median(par)):.3f}, "
      f"median of pair E {statistics.median(eff):.3f}, pair E quartiles {statistics.quantiles(eff, n=4)[0]:.3f}..{statistics.quantiles(eff, n=4)[2]:.3f}")
