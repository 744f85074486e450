#!/usr/bin/env bash
# generator-maxrate.sh [ROUNDS] [SECONDS]
# How hard can each load generator drive? Closed loop against c-echo (the cheapest server), 100
# connections, 1 KB, 1 in flight; server on core 0, generator on core 1; alternates echo-load.c and
# EchoLoad for ROUNDS rounds (default 3) of SECONDS (default 10) and prints each run's qps, p99 and
# how busy each core was. Needs benchmarks/target/{c-echo,echo-load,netpoll-benchmarks.jar}
# (run-echo-bench.sh builds them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3} secs=${2:-10} port=${PORT:-17050}
t=$root/benchmarks/target
taskset -c 0 "$t/c-echo" "$port" & srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
busy() { awk -v c="cpu$1" '$1==c {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
run() { # NAME COMMAND...
  local name=$1; shift
  read -r b0 t0 < <(busy 0); read -r b1 t1 < <(busy 1)
  local out; out=$(taskset -c 1 "$@" | grep '^conns=')
  read -r b0e t0e < <(busy 0); read -r b1e t1e < <(busy 1)
  echo "$name $(echo "$out" | grep -o 'qps=[0-9]*\|p99_us=[0-9]*' | tr '\n' ' ')" \
    "server_core=$(( 100 * (b0e - b0) / (t0e - t0) ))% gen_core=$(( 100 * (b1e - b1) / (t1e - t1) ))%"
}
for r in $(seq 1 "$rounds"); do
  run "echo-load.c" "$t/echo-load" 127.0.0.1 "$port" 100 1024 "$secs" 1 2 0
  run "EchoLoad    " java -Xms256m -Xmx1g -XX:+UseSerialGC -cp "$t/netpoll-benchmarks.jar" \
      io.netpoll.bench.load.EchoLoad 127.0.0.1 "$port" 100 1024 "$secs" 1 2 0
done
