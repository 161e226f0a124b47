#!/usr/bin/env bash
# Summarises logs/<target>.log of run_all.sh: rounds, executions, exec/s, corpus files,
# crashes (panics and signals) / timeouts / OOMs, one per round that ended in one.
cd "$(dirname "$0")"
printf '%-14s %6s %10s %7s %8s %7s %6s %6s %5s\n' target rounds runs exec/s seconds corpus crash timeout oom
for log in logs/*.log; do
    t=$(basename "$log" .log)
    [ -d "corpus/$t" ] || continue
    rounds=$(grep -c '^=== round' "$log")
    runs=$(grep 'stat::number_of_executed_units' "$log" | awk '{s += $2} END {print s + 0}')
    first=$(grep -m1 -oE '^=== round 1, [0-9]+s left \(([0-9:]+)\)' "$log" | grep -oE '[0-9]+:[0-9]+:[0-9]+')
    last=$(stat -c %Y "$log")
    start=$(date -d "$(date -d @"$last" +%F) $first" +%s)
    secs=$((last - start))
    corpus=$(find "corpus/$t" -type f | wc -l)
    crash=$(grep -c 'ERROR: libFuzzer: deadly signal' "$log")
    timeout=$(grep -c 'ERROR: libFuzzer: timeout' "$log")
    oom=$(grep -cE 'ERROR: libFuzzer: out-of-memory|malloc\(.*\) exceeds' "$log")
    printf '%-14s %6s %10s %7s %8s %7s %6s %6s %5s\n' "$t" "$rounds" "$runs" $((runs / (secs > 0 ? secs : 1))) "$secs" "$corpus" "$crash" "$timeout" "$oom"
done
