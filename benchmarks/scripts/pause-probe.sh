#!/usr/bin/env bash
# pause-probe.sh PORT JAVA_ARGS... : whether a JVM server's latency tail comes from the JVM stopping
# it. Runs `java -Xlog:gc,safepoint JAVA_ARGS PORT` on core 0, warms it up 5 s with echo-load (open
# loop at RATE, default 50,000/s, 100 connections, 1 KB), then drives it 10 s with new connections,
# as measure-echo.sh does, and prints echo-load's percentiles beside the GC pauses and the longest
# safepoint the JVM logged in the counted window. Example:
#   benchmarks/scripts/pause-probe.sh 7560 -jar examples/target/netpoll-examples.jar kt-echo
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
port=$1; shift
log=$(mktemp /tmp/pause-probe.XXXXXX.log)
start_warm "$port" /dev/null java -Xlog:gc,safepoint:file="$log":uptime "$@" "$port"
from=$(jvm_clock)
out=$(taskset -c 1 "$load" 127.0.0.1 "$port" 100 1024 10 1 1 "$rate")
kill "$spid"; wait "$spid" 2>/dev/null
echo "$out" | grep -o 'qps=[0-9]*\|p50_us=[0-9]*\|p99_us=[0-9]*\|p999_us=[0-9]*\|max_us=[0-9]*' | tr '\n' ' '
awk -F'[][s]' -v from="$from" '
  $2 + 0 < from { next }
  /Pause/ { gcs++; if (match($0, /[0-9.]+ms$/)) { ms = substr($0, RSTART, RLENGTH - 2) + 0; if (ms > gcmax) gcmax = ms } }
  /Safepoint/ { sps++; if (match($0, /Total: [0-9]+ ns/)) { ns = substr($0, RSTART + 7, RLENGTH - 10) + 0; if (ns > spmax) spmax = ns } }
  END { printf "gc_pauses=%d gc_max_ms=%.2f safepoints=%d safepoint_max_ms=%.3f\n", gcs, gcmax, sps, spmax / 1e6 }' "$log"
rm -f "$log"
