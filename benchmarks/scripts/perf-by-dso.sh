#!/usr/bin/env bash
# perf-by-dso.sh PORT COMMAND... : where a server's CPU goes in the steady state, by shared object
# (kernel, JIT-compiled code, libc, libjvm, JNA's dispatch library...). Starts COMMAND PORT on core
# 0, warms it up 5 s, then runs echo-load on core 1 (open loop at RATE, default 50,000/s, 100
# connections, 1 KB) and records the server with `perf record -F 5000` over 5 s from the load's
# 3rd second, when the JIT has settled. Prints the CPU seconds sampled and each object's share.
# For a JVM it asks for a perf map first (jcmd Compiler.perfmap), so that JIT symbols resolve in
# `perf report -i /tmp/perf-by-dso.data --sort sym`. Needs perf. Example, against the C floor:
#   benchmarks/scripts/perf-by-dso.sh 7500 /tmp/c-echo
#   benchmarks/scripts/perf-by-dso.sh 7501 java -jar examples/target/netpoll-examples.jar framed-echo
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
port=$1; shift
data=/tmp/perf-by-dso.data
start_warm "$port" /tmp/perf-by-dso-server.log "$@" "$port"
taskset -c 1 "$load" 127.0.0.1 "$port" 100 1024 10 1 1 "$rate" >/tmp/perf-by-dso-load.out 2>&1 &
lpid=$!
sleep 3
# only a JVM gets jcmd: its attach mechanism sends SIGQUIT, which ends any other process
jvm=0; grep -q libjvm "/proc/$spid/maps" 2>/dev/null && jvm=1
[ "$jvm" = 1 ] && jcmd "$spid" Compiler.perfmap >/dev/null 2>&1
perf record -F 5000 -p "$spid" -o "$data" -- sleep 5 >/dev/null 2>&1
[ "$jvm" = 1 ] && jcmd "$spid" Compiler.perfmap >/dev/null 2>&1
wait "$lpid"
kill "$spid"; wait "$spid" 2>/dev/null
grep -o 'qps=[0-9]*\|p99_us=[0-9]*' /tmp/perf-by-dso-load.out | tr '\n' ' '
echo
perf report -i "$data" --stdio 2>/dev/null | awk '/Event count/ { printf "cpu_s_sampled=%.2f\n", $NF / 1e9 }'
perf report -i "$data" --no-children --sort dso --stdio 2>/dev/null | grep '%' | grep -v '^#' | head -8
