#!/usr/bin/env bash
# jit-after-reconnect.sh PORT JAVA_ARGS... : what the JIT recompiles when the benchmark's connections
# are replaced. Runs `java -XX:+LogCompilation JAVA_ARGS PORT` on core 0, warms it up 5 s with
# echo-load (open loop at RATE, default 50,000/s, 100 connections, 1 KB), then drives it 10 s with
# new connections, as measure-echo.sh does. Prints each uncommon trap taken after the warm-up
# (reason, and the inlined frames where it fired) and the C2 compile seconds spent after it, the
# largest first. KEEP_LOG=1 keeps the compilation log and prints its path. WRAP=COMMAND runs the
# server under COMMAND (e.g. WRAP=benchmarks/scripts/with-health-checks.sh). Needs python3. Example:
#   benchmarks/scripts/jit-after-reconnect.sh 7500 -jar examples/target/netpoll-examples.jar framed-echo
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
port=$1; shift
log=$(mktemp /tmp/jit-after-reconnect.XXXXXX.log)
# shellcheck disable=SC2086 # WRAP is split into words on purpose
start_warm "$port" /dev/null ${WRAP:-} java -XX:+UnlockDiagnosticVMOptions -XX:+LogCompilation -XX:LogFile="$log" "$@" "$port"
warm=$(jvm_clock)
taskset -c 1 "$load" 127.0.0.1 "$port" 100 1024 10 1 1 "$rate" | grep -o 'qps=[0-9]*\|p99_us=[0-9]*' | tr '\n' ' '
echo
kill "$spid"; wait "$spid" 2>/dev/null
python3 - "$log" "$warm" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().split("\n")
after = float(sys.argv[2])
attrs = lambda s: dict(re.findall(r"(\w+)='([^']*)'", s))
print(f"uncommon traps after {after:.2f} s (the warm-up's connections closing, new ones arriving):")
task, c2 = None, []
for i, line in enumerate(lines):
    if line.startswith("<uncommon_trap thread"):
        a = attrs(line)
        frames = []
        j = i + 1
        while j < len(lines) and lines[j].startswith("<jvms"):
            m = attrs(lines[j])["method"].split(" ")
            frames.append(f"{m[0].split('.')[-1]}.{m[1]}@{attrs(lines[j])['bci']}")
            j += 1
        if float(a["stamp"]) > after:
            root = "" if len(frames) <= 4 else f" ... in {frames[-1]}"
            print(f"  {a['stamp']} {a['reason']:<12} {' < '.join(frames[:4])}{root}")
    elif line.startswith("<task ") and "compile_id" in line:
        task = attrs(line)
    elif task is not None and line.startswith("<task_done"):
        if task.get("level", "4") == "4" and float(task["stamp"]) > after:
            c2.append((float(attrs(line)["stamp"]) - float(task["stamp"]), task["method"]))
        task = None
print(f"C2 compiles after the warm-up: {len(c2)}, {sum(t for t, _ in c2):.3f} s")
for t, m in sorted(c2, reverse=True)[:8]:
    print(f"  {t:.3f} s  {m}")
again = {}
for t, m in c2:
    again[m] = again.get(m, 0) + 1
print("compiled more than once after the warm-up: " + (", ".join(f"{m.split(' ')[0].split('.')[-1]}.{m.split(' ')[1]} x{k}" for m, k in sorted(again.items(), key=lambda x: -x[1]) if k > 1) or "none"))
PY
if [ -n "${KEEP_LOG:-}" ]; then echo "compilation log kept: $log"; else rm -f "$log"; fi
