#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian packages and
# npm modules for the interoperability tests), checks formatting and vet,
# runs every test with the race detector, and builds the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
export WORKERMAN_REQUIRE_TOOLS=1

need=()
for pkg_tool in curl:curl wrk:wrk redis-server:redis-server chromium:chromium python3-websockets:/usr/lib/python3/dist-packages/websockets \
	openssl:openssl mariadb-server:mariadbd mariadb-client:mariadb libnss3-tools:certutil \
	strace:strace linux-perf:perf util-linux:taskset; do
	tool=${pkg_tool#*:}
	command -v "$tool" >/dev/null 2>&1 || [ -e "$tool" ] || [ -x "/usr/sbin/$tool" ] || need+=("${pkg_tool%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "== installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== npm modules for the interoperability tests"
npm ci --prefix protocols/websocket/testdata/node --no-audit --no-fund --loglevel=error

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
(cd bench && go vet ./...)
echo "== go test -race"
go test -race -count=1 -timeout 30m ./...
echo "== benchmark harness tests"
(cd bench && go test -race -count=1 -timeout 15m ./...)
