#!/usr/bin/env bash
# Times the appendix-C sweep: the release binary (`unrollcheck reproduce appendix-c`) against
# the NumPy implementation of the same workload (benches/appendix_c_numpy.py), on the same R,
# in the same run; wall time and peak RSS from /usr/bin/time -v; prints the ratio and the
# binary's flop rate against the machine's peak, over the wall time and per CPU second (the
# latter is what the kernels reach while they run, the meaningful figure when other
# processes share the cores). The peak is measured, not assumed: examples/fma_peak.rs runs
# independent chains of the widest vector FMA the CPU has on every core (a peak from the
# nominal clock and AVX2 assumed was a quarter of the real one on an AVX-512 core at turbo).
#
# Usage: benches/compare.sh [R]          (default R = 100; NumPy --mode spectral, the algorithm of
#                                        the Rust default engine, vectorised)
#   MODE=factored benches/compare.sh     NumPy one-direction loops in (H, g) (`--engine loops`)
#   MODE=direct benches/compare.sh 10    NumPy in (A, b) coordinates (the reference's way)
#   CARGO_TARGET_DIR is honoured.
set -euo pipefail

R="${1:-100}"
MODE="${MODE:-spectral}"
cd "$(dirname "$0")/.."

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (GNU time)" >&2; exit 2; }
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy

echo "== build"
cargo build --release --quiet
cargo build --release --quiet --example fma_peak
BIN="${CARGO_TARGET_DIR:-target}/release/unrollcheck"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# CPU seconds (user + system) from a /usr/bin/time -v log
cpu() { awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { print s }' "$1"; }
# wall seconds and peak RSS (MB) from a /usr/bin/time -v log
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }

echo "== machine"
MODEL="$(lscpu | awk -F': *' '/^Model name/ { print $2; exit }')"
CORES="$(nproc)"
MHZ="$(lscpu | awk -F': *' '/^CPU max MHz/ { print $2; exit }')"
[ -n "$MHZ" ] || MHZ="$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)"
"${CARGO_TARGET_DIR:-target}/release/examples/fma_peak" >"$OUT/peak.txt"
cat "$OUT/peak.txt"
PEAK="$(awk -v c="$CORES" '$1 == "fma" && $4 == c { print $6 }' "$OUT/peak.txt")"
PEAK1="$(awk '$1 == "fma" && $4 == 1 { print $6 }' "$OUT/peak.txt")"
echo "$MODEL, $CORES cores ($MHZ MHz nominal): measured peak $PEAK Gflop/s ($PEAK1 on one core)"
LOAD="$(cut -d' ' -f1 /proc/loadavg)"
echo "load average (1 min) before the runs: $LOAD"
awk -v l="$LOAD" 'BEGIN { exit !(l > 0.5) }' && echo "warning: the machine is busy; timings will be noisy" >&2

echo "== rust, R = $R, default threads"
/usr/bin/time -v "$BIN" reproduce appendix-c --runs "$R" --out "$OUT/rust" >"$OUT/rust.txt" 2>"$OUT/rust.time"
grep '^sweep:' "$OUT/rust.txt"
echo "== rust, R = $R, RAYON_NUM_THREADS=1"
RAYON_NUM_THREADS=1 /usr/bin/time -v "$BIN" reproduce appendix-c --runs "$R" --out "$OUT/rust1" >"$OUT/rust1.txt" 2>"$OUT/rust1.time"
grep '^sweep:' "$OUT/rust1.txt"

echo "== numpy ($MODE), R = $R"
python3 benches/appendix_c_numpy.py --check --mode "$MODE"
/usr/bin/time -v python3 benches/appendix_c_numpy.py --runs "$R" --mode "$MODE" >"$OUT/numpy.txt" 2>"$OUT/numpy.time"
tail -n 1 "$OUT/numpy.txt"

RW="$(wall "$OUT/rust.time")"; R1W="$(wall "$OUT/rust1.time")"; NW="$(wall "$OUT/numpy.time")"
GF="$(awk '/^sweep:/ { for (i = 1; i <= NF; i++) if ($i == "Gflop") print $(i - 1) }' "$OUT/rust.txt")"
echo
echo "== summary (R = $R; wall time of the whole process, report and figures included for rust)"
printf "%-34s %10s %12s\n" "" "wall [s]" "peak RSS [MB]"
printf "%-34s %10.2f %12s\n" "unrollcheck ($CORES threads)" "$RW" "$(rss "$OUT/rust.time")"
printf "%-34s %10.2f %12s\n" "unrollcheck (1 thread)" "$R1W" "$(rss "$OUT/rust1.time")"
printf "%-34s %10.2f %12s\n" "numpy $MODE (default BLAS threads)" "$NW" "$(rss "$OUT/numpy.time")"
RC="$(cpu "$OUT/rust.time")"
SW="$(awk '/^sweep:/ { print $2 }' "$OUT/rust.txt")"
awk -v n="$NW" -v r="$RW" -v r1="$R1W" -v gf="$GF" -v sw="$SW" -v peak="$PEAK" -v peak1="$PEAK1" -v rc="$RC" -v cores="$CORES" 'BEGIN {
  printf "ratio numpy / unrollcheck: %.1fx (%d threads), %.1fx (1 thread)\n", n / r, cores, n / r1;
  printf "flop rate over the sweep (%.3f s): %.2f Gflop/s = %.1f %% of the measured peak %.1f Gflop/s\n", sw, gf / sw, 100 * gf / sw / peak, peak;
  printf "flop rate over the whole process: %.2f Gflop/s = %.1f %% of the measured peak\n", gf / r, 100 * gf / r / peak;
  printf "per CPU second (%.2f s user + system, %d threads): %.2f Gflop/s = %.1f %% of one core'"'"'s measured peak %.1f Gflop/s\n", rc, cores, gf / rc, 100 * gf / rc / peak1, peak1;
}'
echo "(the flop count is the one of the algorithm run, the default spectral sweep: about 17.6KN^2 per step"
echo " size, where the blocked sweep does 37KN^2 and the one-direction loops 50KN^2; on a busy machine the"
echo " per-CPU-second rate is the meaningful one)"
