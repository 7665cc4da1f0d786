#!/usr/bin/env bash
# Builds the echo servers and the comparison driver, then compares this
# framework's TCP echo with gnet v2 and net (goroutine per connection).
# Servers are pinned to CPU 0 and the load generator to CPU 1 when the
# machine has two or more CPUs and taskset is installed.
#
#   bench/run-echo.sh                       # 5 rounds x 7 scenarios x 3 servers x (1+5) s, about 13 min
#   bench/run-echo.sh -rounds 3 -d 3s       # quicker
#   bench/run-echo.sh -strace 2s            # also count system calls per message with strace
#   PROCS=2 bench/run-echo.sh -idle 0       # every server on 2 cores (ours: RunAll with Count=2,
#                                           # gnet: 2 loops, net: GOMAXPROCS=2), nothing pinned
#
# Extra arguments go to the driver (bench/echo/compare; -h lists them).
set -euo pipefail
cd "$(dirname "$0")"
bin=bin
mkdir -p "$bin"
go build -o "$bin/echo-ours" ./echo/ours
go build -o "$bin/echo-gnet" ./echo/gnet
go build -o "$bin/echo-net" ./echo/netecho
go build -o "$bin/echo-compare" ./echo/compare

pin=()
server_cpu=()
if [ "${PROCS:-1}" -gt 1 ]; then
	ulimit -n 20000 2>/dev/null || true
	exec "$bin/echo-compare" -bin "$bin" -server-cpu "" -procs "$PROCS" "$@"
fi
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin=(taskset -c 1)
	server_cpu=(-server-cpu 0)
else
	server_cpu=(-server-cpu "")
fi
ulimit -n 20000 2>/dev/null || true
exec "${pin[@]}" "$bin/echo-compare" -bin "$bin" "${server_cpu[@]}" "$@"
