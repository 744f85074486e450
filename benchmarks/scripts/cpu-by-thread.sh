#!/usr/bin/env bash
# cpu-by-thread.sh PORT COMMAND... : where a server's CPU per request goes, by thread. Runs the
# server on core 0 with COMMAND PORT, warms it up 5 s with echo-load (open loop at RATE, default
# 50,000/s, 100 connections, 1 KB), then counts 10 s plus echo-load's 1 s warm-up, as
# measure-echo.sh does, and prints CPU microseconds per request for each thread group (poller
# threads "netpoll-", JIT compiler threads "C2_CompilerThre", GC ...), read from /proc/PID/task.
# It shows how much of a JVM's cost is the JIT reacting to the warm-up's connections closing.
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
port=$1; shift
start_warm "$port" /tmp/cpu-by-thread-server.log "$@" "$port"
snap() { for t in /proc/$spid/task/*; do echo "$(tr ' ' '_' <"$t/comm") $(awk '{print $14+$15}' "$t/stat")"; done; }
snap >/tmp/cpu-by-thread.0
out=$(taskset -c 1 "$load" 127.0.0.1 "$port" 100 1024 10 1 1 "$rate")
snap >/tmp/cpu-by-thread.1
kill "$spid"; wait "$spid" 2>/dev/null
qps=$(echo "$out" | grep -o 'qps=[0-9]*' | cut -d= -f2)
echo "$out" | grep -o 'qps=[0-9]*\|p99_us=[0-9.]*' | tr '\n' ' '
awk -v t="$(getconf CLK_TCK)" -v q="${qps:-0}" '
  { name = $1; sub(/[0-9]+$/, "", name) }
  FNR == NR { before[name] += $2; next }
  { after[name] += $2 }
  END {
    n = q * 11; if (n == 0) { print "no requests"; exit 1 }
    for (k in after) { d = after[k] - before[k]; total += d; if (d > 0) line = line sprintf(" %s=%.2f", k, d * 1e6 / t / n) }
    printf "total_us_per_req=%.2f%s\n", total * 1e6 / t / n, line
  }' /tmp/cpu-by-thread.0 /tmp/cpu-by-thread.1
