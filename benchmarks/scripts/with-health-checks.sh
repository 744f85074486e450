#!/usr/bin/env bash
# with-health-checks.sh SERVER COMMAND... PORT : runs the server, and during its first HC_SECONDS
# (default 4) a client on core 1 connects every 100 ms, sends one framed byte and closes, as a
# load balancer's health check would (at most 10 per second, HC_SECONDS*10 in all): every other
# one reads the echo first and closes cleanly, the others reset the connection. Meant as the
# server command of alternate-echo.sh / measure-echo.sh (the port comes last, as they append it):
#   benchmarks/scripts/alternate-echo.sh 2 "kotlin-hc=benchmarks/scripts/with-health-checks.sh java -jar E kt-echo"
# Why: the issues' load opens its connections once and closes none until the warm-up ends, so
# the JIT compiles a handler before any connection has ever ended and turns the loop's way out
# (and the resume with an error that a reset causes) into traps; the first closes then recompile
# it inside the counted window. A server whose connections come and go while it warms up (any
# real one) never pays that; this measures it.
set -u
port=${!#}
seconds=${HC_SECONDS:-4}
[ "$seconds" -ge 1 ] && [ "$seconds" -le 60 ] || { echo "HC_SECONDS must be 1..60" >&2; exit 2; }
"$@" &
server=$!
# stopped: stop the server and wait for it to exit (a JVM writes some logs only then)
trap 'kill "$server" 2>/dev/null; wait "$server"; exit 143' INT TERM
(
  for i in $(seq 1 $((seconds * 10))); do
    # odd checks read the echo and close (FIN); even ones close with the echo unread, so the
    # kernel resets the connection (RST), as health checkers that avoid TIME_WAIT do
    # shellcheck disable=SC2016 # expanded by the inner shell
    taskset -c 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/"$1" && printf "\0\0\0\1x" >&3 &&
      if [ $(($2 % 2)) = 1 ]; then head -c 5 <&3 >/dev/null; else sleep 0.02; fi' _ "$port" "$i" 2>/dev/null
    sleep 0.1
  done
) &
wait "$server"
