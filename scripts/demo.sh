#!/usr/bin/env bash
# Builds and starts the demonstration server (examples/webchat) in the
# foreground: open http://127.0.0.1:8080/ or telnet 127.0.0.1 8082, and stop
# it with Ctrl-C. Arguments replace "start": scripts/demo.sh start -d, then
# bin/webchat status, reload, connections, stop.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
go build -o bin/webchat ./examples/webchat
[ $# -gt 0 ] || set -- start
exec bin/webchat "$@"
