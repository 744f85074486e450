#!/usr/bin/env bash
# alternate-echo.sh ROUNDS NAME=COMMAND... : the issues' method for CPU per request. Each round runs
# c-echo, then every NAME=COMMAND server, through shared/bench/measure-echo.sh (open loop at RATE,
# default 50,000/s; 100 connections, 1 KB frames, 10 s, 5 s JVM warm-up; server on core 0, load on
# core 1), and prints each server's CPU per request, its ratio to that round's c-echo, and p99.
# COMMAND gets the port appended. Example (from the project root, after `mvn -B -q -DskipTests package`):
#   benchmarks/scripts/alternate-echo.sh 3 "java=java -jar examples/target/netpoll-examples.jar framed-echo" \
#       "kotlin=java -jar examples/target/netpoll-examples.jar kt-echo"
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
measure=${MEASURE:-$root/../shared/bench/measure-echo.sh}
[ -x "$measure" ] || { echo "measure-echo.sh not found at $measure (set MEASURE)" >&2; exit 2; }
rounds=$1; shift
[ "$rounds" -ge 1 ] && [ "$rounds" -le 20 ] || { echo "ROUNDS must be 1..20" >&2; exit 2; }
cecho=${C_ECHO:-/tmp/c-echo}
[ -x "$cecho" ] || gcc -O2 -o "$cecho" "$(dirname "$measure")/c-echo.c" || exit 2
export RATE=${RATE:-50000} WARMUP=${WARMUP:-5}
field() { echo "$1" | grep -o "$2=[0-9.]*" | cut -d= -f2; }
run() { # PORT COMMAND... -> "us p99"
  local port=$1; shift
  local out; out=$("$measure" "$port" 100 1024 10 1 -- "$@" "$port" 2>/dev/null)
  echo "$(field "$out" server_us_per_req) $(field "$out" p99_us)"
}
for r in $(seq 1 "$rounds"); do
  base=$((7400 + r * 20))
  read -r cus cp99 <<<"$(run "$base" "$cecho")"
  printf 'round %d  %-10s %6s us/req          p99 %s us\n' "$r" c-echo "$cus" "$cp99"
  i=1
  for spec in "$@"; do
    name=${spec%%=*}; cmd=${spec#*=}
    # shellcheck disable=SC2086 # the command is split into words on purpose
    read -r us p99 <<<"$(run $((base + i)) $cmd)"
    ratio=$(awk -v a="$us" -v b="$cus" 'BEGIN{ if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }')
    printf 'round %d  %-10s %6s us/req  %6s  p99 %s us\n' "$r" "$name" "$us" "$ratio" "$p99"
    i=$((i + 1))
  done
done
