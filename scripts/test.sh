#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian packages, npm
# modules for the interoperability tests, staticcheck) and mounts tracefs,
# checks formatting, vet, staticcheck and go.mod tidiness of both modules,
# runs every test with the race detector, and the benchmark harness's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
export WORKERMAN_REQUIRE_TOOLS=1
staticcheck_version=v0.8.2 # the release for Go 1.26

need=()
for pkg_tool in curl:curl wrk:wrk redis-server:redis-server chromium:chromium python3-websockets:/usr/lib/python3/dist-packages/websockets \
	openssl:openssl mariadb-server:mariadbd mariadb-client:mariadb libnss3-tools:certutil \
	strace:strace linux-perf:perf util-linux:taskset dnsmasq-base:dnsmasq mosquitto:mosquitto nats-server:nats-server \
	prometheus:prometheus; do
	tool=${pkg_tool#*:}
	command -v "$tool" >/dev/null 2>&1 || [ -e "$tool" ] || [ -x "/usr/sbin/$tool" ] || need+=("${pkg_tool%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "== installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== tracefs for the benchmark harness's system call counter"
# perf counts system calls through the kernel's syscall tracepoints, which
# appear only where tracefs is mounted; a fresh machine has the directory
# but not the mount.
tracefs=/sys/kernel/tracing
if [ ! -e "$tracefs/events/raw_syscalls/sys_enter" ] && [ "$(id -u)" = 0 ]; then
	mount -t tracefs nodev "$tracefs" || echo "mounting tracefs on $tracefs failed; the syscall counter test will skip"
fi
if [ -e "$tracefs/events/raw_syscalls/sys_enter" ]; then
	export WORKERMAN_REQUIRE_TRACEFS=1
else
	echo "no syscall tracepoints (not root, or the mount was refused): the syscall counter test will skip"
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
echo "== other systems: build and vet (the tests run on Linux only)"
# macOS and the BSDs use the kqueue poller, Windows the portable mode. The
# bench module measures Linux only and is not cross-built. On Windows the
# test files that drive Unix processes and sockets are excluded by their
# build tags, so the library packages are vetted there.
for target in darwin/amd64 darwin/arm64 freebsd/amd64; do
	GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
	GOOS=${target%/*} GOARCH=${target#*/} go build ./...
done
GOOS=windows go build ./...
GOOS=windows go vet . ./eventloop ./filemonitor ./internal/unix ./protocols/...
echo "== go mod tidy -diff"
go mod tidy -diff
(cd bench && go mod tidy -diff)
echo "== staticcheck $staticcheck_version"
GOBIN="$PWD/.cache/bin" go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
.cache/bin/staticcheck ./...
(cd bench && ../.cache/bin/staticcheck ./...)
echo "== go test -race"
go test -race -count=1 -timeout 30m ./...
echo "== go test -race on io_uring (WORKERMAN_POLLER=io_uring)"
WORKERMAN_POLLER=io_uring go test -race -count=1 -timeout 30m ./...
echo "== benchmark harness tests"
(cd bench && go test -race -count=1 -timeout 15m ./...)
echo "== go test -race, portable mode (the Windows code path, on Linux)"
go test -race -count=1 -tags workerman_portable -run 'TestPortable|TestTCPEcho|TestTextProtocol' . ./eventloop
