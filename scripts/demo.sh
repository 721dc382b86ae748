#!/usr/bin/env bash
# The demo: installs what is missing, builds the harness, generates a small
# synthetic corpus, counts it in every mode (same top 10 and times), then
# runs a small experiment end to end and plots it, then runs the whole lab
# within a time budget and says where its report is.
#
# The lab runs with `--budget 6m` rather than one small scale for all: the
# budget gives each experiment its own scale (src/lab/allot.rs), the
# smallest whose median run is >= 0.5 s for timing experiments (shorter runs
# leave Lab 1's efficiency and Lab 3's costs within start-up noise; one
# `--scale 0.02` for all gave E(2) = 0.25 for processes) and one at which the
# faults land for fault experiments; what does not fit is skipped with the
# reason. 6 minutes keeps the whole demo (build of about 3 minutes from
# cold, corpus, counts, demo experiment, lab) under 12 minutes on 2 cores.
# LAB_BUDGET=20m bash scripts/demo.sh gives the lab more time.
set -euo pipefail
cd "$(dirname "$0")/.."
lab_budget="${LAB_BUDGET:-6m}"
bash scripts/ensure-deps.sh
cargo build --release --locked
harness=target/release/harness

echo "== generating a small corpus (8 files of 4 MB + one of 40 MB, Zipf-distributed words)"
$harness gen --preset skew --files 8 --size 4MB --out data/demo/skew

for mode in serial threads processes redis; do
  echo "== harness count data/demo/skew --mode $mode --workers 2"
  $harness count data/demo/skew --mode "$mode" --workers 2 --output "data/demo/counts-$mode.tsv"
done
for mode in threads processes redis; do
  cmp -s data/demo/counts-serial.tsv "data/demo/counts-$mode.tsv" \
    && echo "$mode output is byte-identical to serial" \
    || { echo "error: $mode output differs from serial" >&2; exit 1; }
done

echo "== a small experiment: efficiency vs workers on synthetic text (experiments/demo.toml)"
$harness run experiments/demo.toml
$harness plot results/demo.csv
$harness report
echo "done: results/demo.csv, plots/demo-*.png and report.md (harness report)"

echo "== the whole lab within $lab_budget: every experiment that fits, its plots and the report (harness lab --budget $lab_budget)"
$harness lab --budget "$lab_budget"
echo "report: $(pwd)/lab/report.html (and lab/report.md); results in lab/results, plots in lab/plots"
echo "demo finished in $((SECONDS / 60)) min $((SECONDS % 60)) s"
