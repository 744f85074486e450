# common.sh: sourced by the scripts that study one server under the echo load (cpu-by-thread.sh,
# jit-after-reconnect.sh). Sets $load (echo-load, built from shared/bench if missing) and $rate
# (RATE, default 50,000/s). start_warm PORT LOG COMMAND... starts COMMAND on core 0 (output to LOG),
# sets $spid, waits for PORT, then warms it up 5 s with echo-load on core 1 (open loop at $rate,
# 100 connections, 1 KB frames), as measure-echo.sh does with WARMUP=5. WARMUPS=N (default 1) warms
# up with N such runs, each with new connections: the first connections closing and the next ones
# arriving take branches the JIT had compiled out, and it compiles those methods again (see
# jit-after-reconnect.sh); with WARMUPS=2 that is over before the caller measures (steady state).
# jvm_clock prints the server's age in seconds: the clock of its JVM logs (uptime), give or take the
# JVM's start-up, so a caller can tell which logged events fall in its counted window.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shared=${SHARED:-$(cd "$here/../.." && pwd)/../shared}
load=${ECHO_LOAD:-/tmp/echo-load}
[ -x "$load" ] || gcc -O2 -o "$load" "$shared/bench/echo-load.c" || exit 2
rate=${RATE:-50000}

start_warm() {
  local port=$1 log=$2; shift 2
  taskset -c 0 "$@" >"$log" 2>&1 &
  spid=$!
  for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  for _ in $(seq 1 "${WARMUPS:-1}"); do
    taskset -c 1 "$load" 127.0.0.1 "$port" 100 1024 5 1 0 "$rate" >/dev/null 2>&1
  done
}

jvm_clock() {
  awk -v t="$(getconf CLK_TCK)" -v s="$(awk '{ print $22 }' /proc/"$spid"/stat)" '{ print $1 - s / t }' /proc/uptime
}
