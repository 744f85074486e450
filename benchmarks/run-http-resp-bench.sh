#!/usr/bin/env bash
# run-http-resp-bench.sh [--quick]
#
# Protocol servers against their peers, driven by third-party load generators:
#   HTTP:  wrk against the netpoll HTTP example (examples: `http PORT`, Java API) and the same server on
#          Netty 4.2 (io.netpoll.bench.peers.http.NettyHttpServer: HttpServerCodec, native epoll,
#          pooled allocator), keep-alive and 16 pipelined requests per call;
#   RESP:  redis-benchmark against the netpoll RESP example (`resp PORT`, Kotlin DSL) and a real
#          redis-server, PING_INLINE, PING_MBULK, SET and GET, without and with -P 16.
# Servers run pinned to core $SERVER_CPU (default 0), load generators to core $CLIENT_CPU (default 1).
# Each round starts every contender fresh, warms it up, measures, stops it; the order alternates
# between rounds. Medians over $ROUNDS rounds (default 3) go to benchmarks/results/http-resp-latest.md,
# the raw numbers to benchmarks/results/raw/http-resp-TIMESTAMP.csv and the tools' output to
# benchmarks/results/raw/logs-http-resp-TIMESTAMP/.
#
#   --quick   1 round, short runs (about a minute): a smoke test, not a measurement
# Environment: SKIP_BUILD=1 uses the jars as they are; ROUNDS, HTTP_SECONDS (5), WARMUP (5),
# CONNS (64, wrk), RESP_N (200000), RESP_N_PIPE (2000000), RESP_CLIENTS (50), SERVER_CPU, CLIENT_CPU,
# PORT_BASE (7470) override the defaults.
# Needs: java 17+, taskset, wrk, redis-benchmark and redis-server (apt-get install wrk redis-tools redis-server).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

ROUNDS=${ROUNDS:-3}
HTTP_SECONDS=${HTTP_SECONDS:-5}
WARMUP=${WARMUP:-5}
CONNS=${CONNS:-64}
PIPELINE=16
RESP_N=${RESP_N:-200000}
RESP_N_PIPE=${RESP_N_PIPE:-2000000}
RESP_CLIENTS=${RESP_CLIENTS:-50}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-7470}
for a in "$@"; do
  case "$a" in
    --quick) ROUNDS=1 HTTP_SECONDS=2 WARMUP=2 RESP_N=50000 RESP_N_PIPE=500000 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done

for tool in java taskset wrk redis-benchmark redis-server; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool (Debian: apt-get install wrk redis-tools redis-server util-linux)" >&2; exit 1; }
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building: mvn -B -q -DskipTests -Dkotlin.compiler.daemon=false -pl examples,benchmarks -am package"
  mvn -B -q -DskipTests -Dkotlin.compiler.daemon=false -pl examples,benchmarks -am package
fi
EXAMPLES_JAR=examples/target/netpoll-examples.jar
BENCH_JAR=benchmarks/target/netpoll-benchmarks.jar
[ -f "$EXAMPLES_JAR" ] && [ -f "$BENCH_JAR" ] || { echo "missing $EXAMPLES_JAR or $BENCH_JAR" >&2; exit 1; }

JAVA_OPTS="-Xms256m -Xmx512m -XX:+IgnoreUnrecognizedVMOptions --enable-native-access=ALL-UNNAMED"
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p benchmarks/results/raw
raw=benchmarks/results/raw/http-resp-$stamp.csv
logs=benchmarks/results/raw/logs-http-resp-$stamp
mkdir -p "$logs"
echo "suite,test,contender,round,rps,errors" > "$raw"
lua=$(mktemp /tmp/http-pipeline.XXXXXX.lua)
cat > "$lua" <<EOF
init = function(args)
  local r = {}
  for i = 1, $PIPELINE do r[i] = wrk.format(nil, "/plaintext") end
  req = table.concat(r)
end
request = function() return req end
EOF

SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -f "$lua"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local p
  for p in $(seq "$PORT_BASE" $((PORT_BASE + 200))); do
    if ! port_open "$p"; then echo "$p"; return; fi
  done
  echo "no free port from $PORT_BASE" >&2; exit 1
}

# start_server CONTENDER PORT LOG: starts it pinned to the server core, waits (30 s at most) for the port
start_server() {
  local name=$1 port=$2 log=$3
  case "$name" in
    netpoll-http) taskset -c "$SERVER_CPU" java $JAVA_OPTS -jar "$EXAMPLES_JAR" http "$port" >"$log" 2>&1 & ;;
    netty-http) taskset -c "$SERVER_CPU" java $JAVA_OPTS -cp "$BENCH_JAR" io.netpoll.bench.peers.http.NettyHttpServer "$port" >"$log" 2>&1 & ;;
    netpoll-resp) taskset -c "$SERVER_CPU" java $JAVA_OPTS -jar "$EXAMPLES_JAR" resp "$port" >"$log" 2>&1 & ;;
    redis-server) taskset -c "$SERVER_CPU" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
                    --protected-mode no --daemonize no >"$log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  local i
  for i in $(seq 300); do
    if port_open "$port"; then return; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "$name died at start; see $log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name did not listen on $port within 30 s" >&2; exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  local i
  for i in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

client() { taskset -c "$CLIENT_CPU" "$@"; }

# wrk_run NAME ROUND TEST LOG ARGS...: one measured wrk run; appends to the CSV
wrk_run() {
  local name=$1 round=$2 test=$3 log=$4; shift 4
  client wrk -t1 -c"$CONNS" -d"${HTTP_SECONDS}s" --timeout 5s "$@" >"$log" 2>&1
  local rps errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$log")
  # wrk prints these lines only when they are not zero
  errors=$(awk '/Non-2xx or 3xx responses:/ {e += $NF} /Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10} END {print e + 0}' "$log")
  echo "http,$test,$name,$round,${rps:-0},$errors" >> "$raw"
  printf '  %-13s %-10s %12s req/s  errors %s\n' "$name" "$test" "${rps:-?}" "$errors"
}

# resp_run NAME ROUND PIPE N LOG: one measured redis-benchmark run (ping,set,get); appends to the CSV
resp_run() {
  local name=$1 round=$2 pipe=$3 n=$4 log=$5 port=$6
  client redis-benchmark -h 127.0.0.1 -p "$port" -c "$RESP_CLIENTS" -n "$n" -P "$pipe" -t ping,set,get --csv >"$log" 2>&1 || true
  local errors
  errors=$(grep -ciE 'error|ERR ' "$log" || true)
  awk -F'"' -v name="$name" -v round="$round" -v pipe="$pipe" -v errors="$errors" -v raw="$raw" '
    $2 ~ /^(PING_INLINE|PING_MBULK|SET|GET)$/ {
      test = $2 (pipe > 1 ? " -P " pipe : "")
      printf "resp,%s,%s,%s,%s,%s\n", test, name, round, $4, errors >> raw
      printf "  %-13s %-18s %12s req/s  errors %s\n", name, test, $4, errors
    }' "$log"
}

http_round() {
  local round=$1 name port
  shift
  for name in "$@"; do
    port=$(pick_port)
    start_server "$name" "$port" "$logs/$name-r$round-server.log"
    local url="http://127.0.0.1:$port/plaintext"
    client wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >"$logs/$name-r$round-warmup.log" 2>&1
    client wrk -t1 -c"$CONNS" -d2s -s "$lua" "$url" >>"$logs/$name-r$round-warmup.log" 2>&1
    wrk_run "$name" "$round" keep-alive "$logs/$name-r$round-keepalive.log" "$url"
    wrk_run "$name" "$round" "pipeline-$PIPELINE" "$logs/$name-r$round-pipeline.log" -s "$lua" "$url"
    stop_server
  done
}

resp_round() {
  local round=$1 name port
  shift
  for name in "$@"; do
    port=$(pick_port)
    start_server "$name" "$port" "$logs/$name-r$round-server.log"
    # warm-up (the same for both, so the comparison stays symmetric)
    client redis-benchmark -h 127.0.0.1 -p "$port" -c "$RESP_CLIENTS" -n $((RESP_N_PIPE / 4)) -P "$PIPELINE" -t ping,set,get -q \
      >"$logs/$name-r$round-warmup.log" 2>&1 || true
    client redis-benchmark -h 127.0.0.1 -p "$port" -c "$RESP_CLIENTS" -n $((RESP_N / 4)) -t ping,set,get -q \
      >>"$logs/$name-r$round-warmup.log" 2>&1 || true
    resp_run "$name" "$round" 1 "$RESP_N" "$logs/$name-r$round-p1.csv" "$port"
    resp_run "$name" "$round" "$PIPELINE" "$RESP_N_PIPE" "$logs/$name-r$round-p$PIPELINE.csv" "$port"
    stop_server
  done
}

echo "HTTP and RESP benchmark: $ROUNDS round(s); servers on core $SERVER_CPU, clients on core $CLIENT_CPU"
for r in $(seq "$ROUNDS"); do
  echo "round $r: HTTP (wrk -t1 -c$CONNS -d${HTTP_SECONDS}s)"
  if [ $((r % 2)) = 1 ]; then http_round "$r" netpoll-http netty-http; else http_round "$r" netty-http netpoll-http; fi
  echo "round $r: RESP (redis-benchmark -c $RESP_CLIENTS -n $RESP_N / -P $PIPELINE -n $RESP_N_PIPE)"
  if [ $((r % 2)) = 1 ]; then resp_round "$r" netpoll-resp redis-server; else resp_round "$r" redis-server netpoll-resp; fi
done

# ---------------------------------------------------------------------------------------- report
out=benchmarks/results/http-resp-latest.md
median() { # suite test contender -> median rps over the rounds (and the per-round list)
  awk -F, -v s="$1" -v t="$2" -v c="$3" '$1 == s && $2 == t && $3 == c {print $5}' "$raw" | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) {print "n/a"; exit}; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f", m}'
}
rounds_of() {
  awk -F, -v s="$1" -v t="$2" -v c="$3" '$1 == s && $2 == t && $3 == c {printf "%s%.0f", (n++ ? " / " : ""), $5}' "$raw"
}
errors_of() {
  awk -F, -v s="$1" -v c="$2" '$1 == s && $3 == c {e += $6} END {print e + 0}' "$raw"
}
ratio() { # suite test A B -> median over rounds of A's rps / B's rps in the same round
  awk -F, -v s="$1" -v t="$2" -v a="$3" -v b="$4" '$1 == s && $2 == t && $3 == a {x[$4] = $5} $1 == s && $2 == t && $3 == b {y[$4] = $5}
    END {for (r in x) if ((r in y) && y[r] > 0) print x[r] / y[r]}' "$raw" | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) {print "n/a"; exit}; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m}'
}

{
  echo "# HTTP and RESP example servers vs their peers"
  echo
  echo "Run $stamp on $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r),"
  echo "$(java -version 2>&1 | head -1), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $(redis-server --version | awk '{print $1, $2, $3}')."
  echo "Servers pinned to core $SERVER_CPU (\`taskset -c $SERVER_CPU\`), load generators to core $CLIENT_CPU; every"
  echo "contender started fresh in each of $ROUNDS round(s) (order alternating), warmed up, then measured. JVMs:"
  echo "\`$JAVA_OPTS\`. Requests/s: medians of the rounds, per-round values in brackets. Ratio: the median of the"
  echo "per-round ratios (netpoll / peer measured in the same round); > 1 means netpoll served more requests/s."
  echo
  echo "## HTTP: wrk, \`GET /plaintext\`, $CONNS connections, ${HTTP_SECONDS} s per run"
  echo
  echo "| test | netpoll (Java API) req/s | Netty 4.2 epoll req/s | netpoll / Netty |"
  echo "|---|---:|---:|---:|"
  for t in keep-alive "pipeline-$PIPELINE"; do
    a=$(median http "$t" netpoll-http); b=$(median http "$t" netty-http)
    echo "| $t | $a ($(rounds_of http "$t" netpoll-http)) | $b ($(rounds_of http "$t" netty-http)) | $(ratio http "$t" netpoll-http netty-http) |"
  done
  echo
  echo "wrk errors (non-2xx + socket errors) over all runs: netpoll $(errors_of http netpoll-http), Netty $(errors_of http netty-http)."
  echo
  echo "## RESP: redis-benchmark, $RESP_CLIENTS clients, -n $RESP_N (no pipelining) / -n $RESP_N_PIPE (-P $PIPELINE)"
  echo
  echo "| test | netpoll (Kotlin DSL) req/s | redis-server req/s | netpoll / Redis |"
  echo "|---|---:|---:|---:|"
  for t in PING_INLINE PING_MBULK SET GET "PING_INLINE -P $PIPELINE" "PING_MBULK -P $PIPELINE" "SET -P $PIPELINE" "GET -P $PIPELINE"; do
    a=$(median resp "$t" netpoll-resp); b=$(median resp "$t" redis-server)
    echo "| $t | $a ($(rounds_of resp "$t" netpoll-resp)) | $b ($(rounds_of resp "$t" redis-server)) | $(ratio resp "$t" netpoll-resp redis-server) |"
  done
  echo
  echo "redis-benchmark error lines over all runs: netpoll $(errors_of resp netpoll-resp), redis-server $(errors_of resp redis-server)."
  echo
  echo "Reproduce: \`benchmarks/run-http-resp-bench.sh\` (raw: \`$raw\`, logs: \`$logs/\`)."
} > "$out"
echo
cat "$out"
