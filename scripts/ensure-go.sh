# Sourced by the other scripts: puts a Go toolchain able to build this
# module on PATH, installing one on a fresh Debian machine if needed.
# Debian 12's golang-go (1.19) is too old to build the module, but it can
# fetch the official toolchain from the Go module proxy, the way newer go
# commands switch toolchains by themselves.
want=go1.26.8
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
	echo "== installing Debian's golang-go to fetch $want"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq golang-go ca-certificates >/dev/null
fi
have=$(go env GOVERSION 2>/dev/null || go version | awk '{print $3}')
case "$have" in
go1.2[2-9]* | go1.[3-9][0-9]*) ;; # new enough: it switches toolchains itself
*)
	tc="golang.org/toolchain@v0.0.1-$want.linux-$(go env GOARCH)"
	echo "== $have is too old; fetching $tc"
	tmp=$(mktemp -d)
	(cd "$tmp" && go mod init tc >/dev/null 2>&1 && GOFLAGS=-modcacherw go mod download "$tc")
	dir="$(go env GOMODCACHE)/$tc"
	chmod -R u+x "$dir/bin" "$dir/pkg/tool" 2>/dev/null
	export PATH="$dir/bin:$PATH" GOROOT="$dir"
	rm -rf "$tmp"
	;;
esac
