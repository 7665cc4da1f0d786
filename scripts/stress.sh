#!/usr/bin/env bash
# Repeats the timing-sensitive tests while other processes keep every CPU
# busy, to reproduce a flaky failure with one command:
#
#   scripts/stress.sh                        # the default list below, 200 runs each
#   COUNT=50 scripts/stress.sh . 'TestProcessManager$'
#   scripts/stress.sh ./protocols/websocket 'TestClose'
#
# Arguments: a package and a -run pattern (both optional). COUNT sets the
# runs per test (200), BURNERS the busy processes (one per CPU). Each
# failure's output is kept in $OUT (stress-out/) as <test>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
COUNT=${COUNT:-200}
BURNERS=${BURNERS:-$(nproc)}
OUT=${OUT:-stress-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ $# -ge 1 ]; then
	targets=("$1|${2:-.}")
else
	targets=(
		".|^TestTLSCloseWithUnreadInput$"
		".|^TestProcessManager$"
	)
fi

burn() {
	for _ in $(seq "$BURNERS"); do
		sh -c 'while :; do :; done' &
	done
}
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
burn

status=0
for t in "${targets[@]}"; do
	pkg=${t%%|*}
	pat=${t#*|}
	name=$(echo "$pkg$pat" | tr -c 'A-Za-z0-9_\n' '_')
	bin="$OUT/$name.test"
	go test -c -race -o "$bin" "$pkg"
	echo "== $pkg -run $pat, $COUNT runs under $BURNERS busy processes"
	if (cd "$pkg" && "$bin" -test.run "$pat" -test.count "$COUNT" -test.v -test.timeout 0) >"$OUT/$name.log" 2>&1; then
		echo "   all passed"
	else
		status=1
		echo "   FAILED; failing tests:"
		grep -E '^\s*--- FAIL' "$OUT/$name.log" | sed 's/ (.*//' | sort | uniq -c | sed 's/^/   /'
		echo "   output: $OUT/$name.log"
	fi
done
exit $status
