#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS_PER_TARGET (default 600) each, JOBS (default
# 2) at a time, with the limits of README.md. Logs go to fuzz/logs/<target>.log, new corpus
# entries to fuzz/corpus/<target>/, crashes to fuzz/artifacts/<target>/. Build first (README.md).
set -u
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-600}
JOBS=${JOBS:-2}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
mkdir -p logs
# libFuzzer stops at the first crash; the run is then restarted on the same corpus for the time
# that is left (at most 20 times), so one shallow crash does not end a target's whole run.
# The pickle and torch targets get a 10 s timeout: a 166-byte pickle whose shared references
# expand to just under MAX_TREE_NODES is accepted by design (bounded: 0.3 s in a release build)
# but takes ~6 s under the fuzzer's instrumentation (tests/fuzz_regressions.rs).
timeout_for() {
    case $1 in pickle | torch | torch_members) echo 10 ;; *) echo 2 ;; esac
}
run() {
    local t=$1 start now left round=0
    mkdir -p "corpus/$t" "artifacts/$t"
    : >"logs/$t.log"
    start=$(date +%s)
    while :; do
        now=$(date +%s)
        left=$((SECONDS_PER_TARGET - (now - start)))
        [ "$left" -gt 5 ] && [ "$round" -lt 20 ] || break
        round=$((round + 1))
        echo "=== round $round, ${left}s left ($(date +%T))" >>"logs/$t.log"
        RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -O -- \
            -max_total_time="$left" -rss_limit_mb=1024 -max_len=65536 -timeout="$(timeout_for "$t")" \
            -print_final_stats=1 >>"logs/$t.log" 2>&1
        echo "=== exit $?" >>"logs/$t.log"
    done
    echo "$t: done after $round round(s), $(( $(date +%s) - start ))s ($(date +%T))"
}
running=0
for t in "${targets[@]}"; do
    run "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
