#!/usr/bin/env bash
# The demo: installs what is missing, builds the harness, generates a small
# synthetic corpus, counts it in every mode (same top 10 and times), then
# runs a small experiment end to end and plots it, then runs the whole lab
# at a small scale (harness lab --scale 0.02) and says where its report is.
set -euo pipefail
cd "$(dirname "$0")/.."
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

echo "== the whole lab at a small scale: every experiment, its plots and the report (harness lab, a few minutes)"
$harness lab --scale 0.02
echo "report: $(pwd)/lab/report.html (and lab/report.md); results in lab/results, plots in lab/plots"
