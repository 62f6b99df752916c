#!/usr/bin/env bash
# Throughput of `unrollcheck verify` (issue #17, item 2): instances per second on a fixed
# scenario at --jobs 1 and --jobs 2, and how the time per instance grows with the state
# dimension n and the horizon K, with the growth exponents fitted by least squares on
# log-log (NumPy).
#
# What is run (scenario files written into a temporary directory; claims thm7.bound,
# thm8.bound, lem6.gamma, sec41.trunc_fwd_rev, i.e. the statement and the readings, no
# controls; gradient descent, step 2/(L+m), x0 = x* + N(0, 10^2); families ridge_weight
# (p = 1) and pseudo_huber_targets (p = m)):
#   (a) fixed:  m = 20, n = 5, paper data (lambda = 0.1), K chosen per instance from rho
#               (k_max = 300), 24 instances per family = 48; --jobs 1 and --jobs 2.
#   (b) n:      n in {4, 8, 16, 32, 50}, m = 2n, K = 200 (data with a small spectral gap,
#               spectrum [[0.01, 1]], lambda = 1e-3, so that K reaches k_max), 2 instances
#               per family; --jobs 1.
#   (c) K:      K in {100, 200, 500, 1000, 2000} (k_max, same data: K = k_max on every
#               instance), n = 5, m = 10, 4 instances per family; --jobs 1.
#   (d) K, natural: ridge_weight only, K chosen by the tool from rho (k_max = 20000) with
#               the spectral gap set so that K is about 100 ... 2000: the same growth
#               without the cap; n = 5, m = 10, 4 instances; --jobs 1.
# The K of every instance is read back from results.json and checked (b, c) or reported
# (d). Times are wall time of the whole process (report and figures included), best of
# RUNS runs; peak RSS from GNU /usr/bin/time when present. The first instance of each grid
# point also runs the tolerance calibration and the figure data, as verify always does.
#
# Usage:  benches/throughput.sh            full run, about 4-5 min (261 s on a contended 2-core VM)
#         QUICK=1 benches/throughput.sh    smoke run (fewer points, 1 run each), 10-20 s
#         RUNS=5 benches/throughput.sh     best of 5 instead of 3
#         NO_BUILD=1 ...                   use the existing target/release/unrollcheck
#   CARGO_TARGET_DIR is honoured. Prints a Markdown table and the fitted exponents (stdout;
#   progress on stderr). Figures and their reading: docs/performance.md, "Throughput of verify".
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK="${QUICK:-0}"
if [ "$QUICK" = 1 ]; then
    RUNS="${RUNS:-1}"
    FIXED_PER_FAMILY=8
    NS=(4 8 16)
    KS=(100 200 500)
else
    RUNS="${RUNS:-3}"
    FIXED_PER_FAMILY=24
    NS=(4 8 16 32 50)
    KS=(100 200 500 1000 2000)
fi
K_FOR_N=200
N_FOR_K=5
CLAIMS='["thm7.bound", "thm8.bound", "lem6.gamma", "sec41.trunc_fwd_rev"]'

command -v python3 >/dev/null && python3 -c "import numpy" 2>/dev/null \
    || { echo "needs python3 with NumPy (for the fits)" >&2; exit 2; }

BIN="${CARGO_TARGET_DIR:-target}/release/unrollcheck"
if [ "${NO_BUILD:-0}" != 1 ]; then
    echo "== build" >&2
    cargo build --release --quiet
fi
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 2; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
HAVE_TIME=0
[ -x /usr/bin/time ] && HAVE_TIME=1

START=$(date +%s)
MODEL="$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }')"
echo "== machine: ${MODEL:-unknown CPU}, $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
echo "   load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "   binary: $BIN ($("$BIN" --version 2>/dev/null || echo '?')); best of $RUNS run(s)" >&2

# scenario NAME PER_FAMILY FAMILIES M N K_MAX DATA_LINES -> $TMP/NAME.toml
scenario() {
    local name=$1 inst=$2 fams=$3 m=$4 n=$5 kmax=$6 data=$7
    cat >"$TMP/$name.toml" <<EOF
name = "$name"
seed = 2026
instances = $inst
claims = $CLAIMS
k_max = $kmax
[grid]
family = $fams
method = ["gd"]
m = [$m]
n = [$n]
$data
step = ["2/(L+m)"]
x0 = [10.0]
EOF
}

# measure SECTION PARAM NAME JOBS [EXPECTED_K]: best wall time of RUNS runs, appended to
# $RESULTS as: section param instances jobs wall rss_mb k_min k_median k_max
measure() {
    local section=$1 param=$2 name=$3 jobs=$4 want_k=${5:-}
    local best="" rss="" i t0 t1 wall rc
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s.%N)
        rc=0
        if [ "$HAVE_TIME" = 1 ]; then
            /usr/bin/time -f '%M' -o "$TMP/rss" "$BIN" verify "$TMP/$name.toml" --out "$TMP/out" --jobs "$jobs" \
                >"$TMP/log" 2>&1 || rc=$?
        else
            "$BIN" verify "$TMP/$name.toml" --out "$TMP/out" --jobs "$jobs" >"$TMP/log" 2>&1 || rc=$?
        fi
        t1=$(date +%s.%N)
        if [ "$rc" -ge 2 ]; then
            echo "verify failed (exit $rc) on $name:" >&2
            cat "$TMP/log" >&2
            exit 2
        fi
        [ "$rc" = 1 ] && echo "   note: a check is violated in $name (exit 1); timing anyway" >&2
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
        if [ -z "$best" ] || awk -v w="$wall" -v b="$best" 'BEGIN { exit !(w < b) }'; then
            best=$wall
            [ "$HAVE_TIME" = 1 ] && rss=$(awk 'END { printf "%.0f", $1 / 1024 }' "$TMP/rss")
        fi
    done
    read -r count kmin kmed kmax < <(python3 - "$TMP/out/$name/results.json" <<'EOF'
import json, sys
ks = sorted(i["K"] for i in json.load(open(sys.argv[1]))["instances"])
print(len(ks), ks[0], ks[len(ks) // 2], ks[-1])
EOF
)
    if [ -n "$want_k" ] && { [ "$kmin" != "$want_k" ] || [ "$kmax" != "$want_k" ]; }; then
        echo "$name: K ranges over $kmin..$kmax, not $want_k as intended" >&2
        exit 2
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$param" "$count" "$jobs" "$best" "${rss:--}" \
        "$kmin" "$kmed" "$kmax" >>"$RESULTS"
    printf '   %-8s %-10s %3s instances, --jobs %s: %8.3f s (K %s..%s)\n' "$section" "$param" "$count" "$jobs" \
        "$best" "$kmin" "$kmax" >&2
}

GAP='data = ["spectrum"]
spectrum = [[0.01, 1.0]]
lambda = [0.001]'
BOTH='["ridge_weight", "pseudo_huber_targets"]'

echo "== (a) fixed scenario: m = 20, n = 5, paper data, $((2 * FIXED_PER_FAMILY)) instances" >&2
scenario fixed "$FIXED_PER_FAMILY" "$BOTH" 20 5 300 'data = ["paper"]
lambda = [0.1]'
measure fixed n=5 fixed 1
measure fixed n=5 fixed 2

echo "== (b) n sweep at K = $K_FOR_N, m = 2n" >&2
for n in "${NS[@]}"; do
    scenario "n$n" 2 "$BOTH" $((2 * n)) "$n" "$K_FOR_N" "$GAP"
    measure n "$n" "n$n" 1 "$K_FOR_N"
done

echo "== (c) K sweep at n = $N_FOR_K (K = k_max)" >&2
for k in "${KS[@]}"; do
    scenario "k$k" 4 "$BOTH" $((2 * N_FOR_K)) "$N_FOR_K" "$k" "$GAP"
    measure K "$k" "k$k" 1 "$k"
done

echo "== (d) K chosen from rho (ridge_weight, no cap)" >&2
for k in "${KS[@]}"; do
    # ridge, 2/(L+m), Hessian spectrum [s^2 + lambda, 1 + lambda]: K ~ 9.1 / s^2 here
    s=$(awk -v k="$k" 'BEGIN { printf "%.4f", sqrt(9.12 / k) }')
    scenario "natural$k" 4 '["ridge_weight"]' $((2 * N_FOR_K)) "$N_FOR_K" 20000 "data = [\"spectrum\"]
spectrum = [[$s, 1.0]]
lambda = [0.0001]"
    measure K_natural "$k" "natural$k" 1
done

ELAPSED=$(($(date +%s) - START))
echo "== done in ${ELAPSED} s (load average now: $(cut -d' ' -f1-3 /proc/loadavg))" >&2

python3 - "$RESULTS" "$ELAPSED" <<'EOF'
import sys
import numpy as np

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
elapsed = int(sys.argv[2])
label = {"fixed": "(a) fixed, n = 5, paper data", "n": "(b) n, K = 200, m = 2n",
         "K": "(c) K = k_max, n = 5", "K_natural": "(d) K from ρ, n = 5, ridge"}

print("| sweep | value | instances | --jobs | K (min–max) | best wall [s] | instances/s | ms/instance | peak RSS [MB] |")
print("|---|---|---|---|---|---|---|---|---|")
series = {}
for sec, param, count, jobs, wall, rss, kmin, kmed, kmax in rows:
    count, wall = int(count), float(wall)
    per = wall / count
    k = kmin if kmin == kmax else f"{kmin}–{kmax}"
    print(f"| {label[sec]} | {param} | {count} | {jobs} | {k} | {wall:.3f} | {count / wall:.1f} | {1000 * per:.1f} | {rss} |")
    if sec == "fixed":
        series.setdefault(sec, {})[int(jobs)] = count / wall
    else:
        x = float(kmed) if sec == "K_natural" else float(param)
        series.setdefault(sec, []).append((x, per))

print()
if "fixed" in series and 1 in series["fixed"] and 2 in series["fixed"]:
    a = series["fixed"]
    print(f"- (a) throughput: {a[1]:.1f} instances/s on 1 thread, {a[2]:.1f} on 2: speed-up {a[2] / a[1]:.2f}")


def slope(pts):
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    return np.polyfit(x, y, 1)[0]


names = {"n": ("n", "3 (dense n×n·n×p products with p ∝ n, eigen-decompositions of n×n)"),
         "K": ("K", "1"), "K_natural": ("K", "1")}
for sec in ("n", "K", "K_natural"):
    if sec not in series or len(series[sec]) < 2:
        continue
    pts = series[sec]
    whole = slope(pts)
    upper = slope(pts[-3:]) if len(pts) >= 3 else whole
    local = slope(pts[-2:])
    var, expect = names[sec]
    print(f"- {label[sec]}: time per instance ∝ {var}^{whole:.2f} over {pts[0][0]:g}–{pts[-1][0]:g} "
          f"(least squares on log-log), {var}^{upper:.2f} over the last three points, "
          f"{var}^{local:.2f} between the last two; expected exponent {expect}")
print(f"- script wall time: {elapsed} s")
EOF
