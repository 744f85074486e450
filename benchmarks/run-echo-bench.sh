#!/usr/bin/env bash
# run-echo-bench.sh [--quick] [EchoBench options...]
#
# End-to-end framed-echo benchmark: netpoll against C, Netty (epoll, NIO), Ktor, virtual and
# platform threads. Builds what it needs (the Maven reactor, c-echo and echo-load with gcc), raises
# the open-file limit for the 10,000-connection scenario, then runs io.netpoll.bench.runner.EchoBench,
# which pins every server to core 0 and the load to core 1, and writes
# benchmarks/results/{echo-TIMESTAMP.md,latest.md,latest.png} and benchmarks/results/raw/*.csv.
#
#   --quick            1 round, short windows (a few minutes in all)
#   --help             every option (rounds, scenarios, contenders, generator, rates, ...)
# Environment: SKIP_BUILD=1 uses the jars as they are; SHARED=DIR points at shared/ (default ../shared).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SHARED:-$root/../shared}
cd "$root"

for a in "$@"; do
  if [ "$a" = --help ] || [ "$a" = -h ]; then
    exec java -cp "$root/benchmarks/target/netpoll-benchmarks.jar" io.netpoll.bench.runner.EchoBench --help
  fi
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  # no Kotlin compile daemon: it would linger beside the measurements
  echo "building: mvn -B -q -DskipTests -Dkotlin.compiler.daemon=false package"
  if ! mvn -B -q -DskipTests -Dkotlin.compiler.daemon=false package; then
    echo "full build failed; building the benchmarks module and what it needs only"
    if ! mvn -B -q -pl benchmarks -am -DskipTests -Dkotlin.compiler.daemon=false package; then
      if [ -f benchmarks/target/netpoll-benchmarks.jar ]; then
        echo "WARNING: build failed; using the existing benchmarks/target/netpoll-benchmarks.jar"
      else
        echo "build failed and there is no benchmarks jar" >&2; exit 1
      fi
    fi
  fi
fi

mkdir -p benchmarks/target
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x benchmarks/target/c-echo ] && [ -x benchmarks/target/echo-load ]; then
  :
elif [ -f "$shared/bench/c-echo.c" ]; then
  gcc -O2 -o benchmarks/target/c-echo "$shared/bench/c-echo.c"
  gcc -O2 -o benchmarks/target/echo-load "$shared/bench/echo-load.c"
else
  echo "note: $shared/bench not found: c-echo (and --load c) are unavailable"
fi

# 10,100 connections on each side of scenario 5, plus a platform thread each for one contender
ulimit -Hn 65536 2>/dev/null || true
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 10300 ]; then
  echo "WARNING: open-file limit is $(ulimit -n); scenario 5 needs about 10,200 per process"
fi

# Run from a private copy of the jars and tools: a build started meanwhile (by anyone working in
# this tree) rewrites target/ and would pull classes from under the running servers and runner.
bin=$(mktemp -d /tmp/echo-bench.XXXXXX)
trap 'rm -rf "$bin"' EXIT
cp benchmarks/target/netpoll-benchmarks.jar "$bin/"
for f in examples/target/netpoll-examples.jar benchmarks/target/c-echo benchmarks/target/echo-load; do
  if [ -f "$f" ]; then cp "$f" "$bin/"; fi
done

# the runner itself sleeps while it waits; keep it off the server's core
taskset -c 1 java -Xmx512m -cp "$bin/netpoll-benchmarks.jar" \
  io.netpoll.bench.runner.EchoBench --root "$root" --bin "$bin" "$@"
