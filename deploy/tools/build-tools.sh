#!/usr/bin/env bash
# Builds the two Go programs Agora's load and tracing work needs, from the Go
# module proxy, at pinned versions:
#   ghz    - gRPC load tester
#   jaeger - Jaeger v2 all-in-one (run with no --config: in-memory storage,
#            OTLP on 4317/4318, query API/UI on 16686, health on 13133)
# Neither can be downloaded as a prebuilt binary here (only the module proxy,
# Debian and npm are reachable), so we compile them. The binaries go to a cache
# outside the clone so a fresh clone or CI run reuses them, and a version stamp
# per tool makes a version bump rebuild while an unchanged pin is a no-op.
#
# Usage: deploy/tools/build-tools.sh [ghz|jaeger|all]   (default: all)
# Env:   AGORA_TOOLS_DIR  cache dir (default ~/.cache/agora/tools);
#        the Go module/build caches stay Go's defaults (~/go/pkg/mod, ~/.cache/go-build).
#
# First builds on 2 cores: ghz ~1.5 min, jaeger ~8 min (hundreds of modules),
# one build at a time (a second caller waits for the first), with progress lines.

# Fail on any error, unset variable or failed pipe stage: a half-built tool
# must never be stamped as built.
set -euo pipefail

# --- Pins (change these to upgrade; the stamps make the next run rebuild) ---
GHZ_MODULE=github.com/bojand/ghz
GHZ_VERSION=v0.121.0

# Jaeger v2 is released from github.com/jaegertracing/jaeger, but its v2.x tags
# are not valid module versions (the module path has no /v2), so the proxy only
# knows the v1.x tag of the same commit: v1.76.0 == Jaeger v2.13.0. Newer v2
# commits (e.g. v2.20.0) are not served by our module proxy. The full
# dependency pin (and the replace directive jaeger needs) is in jaeger/go.mod
# and jaeger/go.sum beside this script; JAEGER_MODULE_VERSION must match it.
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_MODULE_VERSION=v1.76.0
JAEGER_VERSION=v2.13.0
JAEGER_COMMIT=63b27e1810a710ac54dc4522da0538e540bdc545
JAEGER_DATE=2025-12-03T16:07:08Z

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS_DIR=${AGORA_TOOLS_DIR:-$HOME/.cache/agora/tools}
BIN_DIR=$TOOLS_DIR/bin
STAMP_DIR=$TOOLS_DIR/stamps

usage() {
  echo "usage: $0 [ghz|jaeger|all]   (default: all)" >&2
  echo "       $0 --check ghz|jaeger   exit 0: built; 3: needs a build this machine can do;" >&2
  echo "                               1: needs a build and Go is missing or too old (says what to install)" >&2
}

# --check NAME: what npm start asks before it decides to build in the background.
check() {
  local stamp
  case "$1" in
    ghz) stamp=$(ghz_stamp) ;;
    jaeger) stamp=$(jaeger_stamp) ;;
    *) usage; exit 2 ;;
  esac
  up_to_date "$1" "$stamp" && exit 0
  require_go "$1"
  exit 3
}

# Only a build needs Go: when the binaries are already cached, a machine
# without Go can still use them, so this is checked lazily. Jaeger's go.mod asks
# for Go 1.24.6; Go 1.21+ fetches a newer toolchain from the module proxy by
# itself (GOTOOLCHAIN=auto), older ones cannot, so below 1.21 we stop and say so.
require_go() {
  local want="Go 1.24 or newer (https://go.dev/dl; Debian 12's golang-go is 1.19, too old)"
  if ! command -v go >/dev/null 2>&1; then
    echo "tools: Go is not installed, and it is needed to build $1 from the Go module proxy: install $want" >&2
    exit 1
  fi
  local v minor
  v=$(go env GOVERSION 2>/dev/null || true)
  minor=$(sed -nE 's/^go1\.([0-9]+).*/\1/p' <<<"$v")
  if [[ -z $minor ]] || ((minor < 21)); then
    echo "tools: ${v:-this Go} is too old to build $1: install $want" >&2
    exit 1
  fi
}

# with_progress WHAT TOTAL COUNTER LOG CMD...: runs CMD with its output in LOG,
# printing "WHAT: N of about TOTAL (Ts)" every 20 s, N being what the COUNTER
# function prints. The first Jaeger build runs for minutes with no output of
# its own; npm start shows these lines while it serves.
with_progress() {
  local what=$1 total=$2 counter=$3 log=$4 start=$SECONDS pid
  shift 4
  "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null && sleep 1; done
    kill -0 "$pid" 2>/dev/null || break
    echo "  $what: $($counter) of about $total ($((SECONDS - start))s)"
  done
  wait "$pid"
}

# up_to_date NAME STAMP: the binary exists and was built from exactly this pin.
up_to_date() {
  [[ -x "$BIN_DIR/$1" && -f "$STAMP_DIR/$1" && "$(<"$STAMP_DIR/$1")" == "$2" ]]
}

# Writes the stamp only after the binary is in place, so an interrupted build
# is retried on the next run instead of being skipped.
mark_built() {
  printf '%s\n' "$2" >"$STAMP_DIR/$1"
}

ghz_stamp() { echo "$GHZ_MODULE@$GHZ_VERSION"; }

# The stamp includes a hash of our go.mod/go.sum, so editing the pinned
# dependency set (not just the version variable) also forces a rebuild.
jaeger_stamp() {
  local modsum
  modsum=$(cat "$SCRIPT_DIR/jaeger/go.mod" "$SCRIPT_DIR/jaeger/go.sum" | sha256sum | cut -c1-16)
  echo "$JAEGER_MODULE@$JAEGER_MODULE_VERSION ($JAEGER_VERSION) mod:$modsum"
}

build_ghz() {
  local stamp
  stamp=$(ghz_stamp)
  if up_to_date ghz "$stamp"; then
    echo "ghz $GHZ_VERSION already built at $BIN_DIR/ghz"
    return
  fi
  require_go ghz
  echo "Building ghz $GHZ_VERSION (go install $GHZ_MODULE/cmd/ghz@$GHZ_VERSION) ..."
  local start=$SECONDS
  # ghz's go.mod has no replace directives, so a plain pinned `go install`
  # works (go.sum checking against the checksum DB keeps it reproducible).
  # GOBIN is a temp dir so a failed build never leaves a half-written
  # bin/ghz; -X main.version makes `ghz --version` tell the truth (upstream
  # sets it the same way in its release build) and -s -w matches upstream.
  local tmp
  tmp=$(mktemp -d "$TOOLS_DIR/.ghz-build.XXXXXX")
  if ! GOBIN="$tmp" go install -trimpath \
      -ldflags "-s -w -X main.version=$GHZ_VERSION" \
      "$GHZ_MODULE/cmd/ghz@$GHZ_VERSION"; then
    rm -rf "$tmp"
    echo "ghz build failed" >&2
    exit 1
  fi
  mv -f "$tmp/ghz" "$BIN_DIR/ghz"
  rm -rf "$tmp"
  mark_built ghz "$stamp"
  echo "ghz $GHZ_VERSION built in $((SECONDS - start))s"
}

build_jaeger() {
  local moddir="$SCRIPT_DIR/jaeger" stamp
  stamp=$(jaeger_stamp)
  if up_to_date jaeger "$stamp"; then
    echo "jaeger $JAEGER_VERSION already built at $BIN_DIR/jaeger"
    return
  fi
  # The script's variables and the committed go.mod must agree, otherwise the
  # version stamped into the binary would lie about what was compiled.
  if ! grep -Eq "^[[:space:]]*$JAEGER_MODULE $JAEGER_MODULE_VERSION( |$)" "$moddir/go.mod"; then
    echo "$moddir/go.mod does not require $JAEGER_MODULE $JAEGER_MODULE_VERSION; update one to match the other" >&2
    exit 1
  fi
  require_go Jaeger
  local modules
  modules=$(grep -vc '/go.mod ' "$moddir/go.sum")
  echo "Building jaeger $JAEGER_VERSION ($JAEGER_MODULE $JAEGER_MODULE_VERSION) from $moddir"
  echo "  the first build on a machine takes about 8 minutes on 2 cores (~$modules modules to download, then ~2,300 packages to compile); later runs skip it"
  local start=$SECONDS
  local log="$TOOLS_DIR/jaeger-build.log"
  cached_modules() { count_cached_modules "$moddir/go.sum"; }
  compiled_packages() { grep -vc '^go: ' "$log" || true; }
  if ! (cd "$moddir" && with_progress "jaeger: modules downloaded" "$modules" cached_modules \
      "$log" go mod download); then
    tail -n 20 "$log" >&2
    echo "jaeger build failed while downloading modules (whole log: $log)" >&2
    exit 1
  fi
  local packages
  packages=$(cd "$moddir" && go list -mod=readonly -deps "$JAEGER_MODULE/cmd/jaeger" | wc -l)
  # `go install .../cmd/jaeger@version` is refused: jaeger's go.mod has a
  # replace directive (jaeger issue #7310). So we build the package from our
  # own small module, which requires jaeger and copies that replace.
  # -mod=readonly: use go.mod/go.sum exactly as committed, never rewrite them.
  # -v names each package as it is compiled: the progress count.
  # The -X flags set what `jaeger version` reports, as jaeger's Makefile does.
  local pkg=github.com/jaegertracing/jaeger/internal/version
  local tmp="$BIN_DIR/.jaeger.tmp.$$"
  if ! (cd "$moddir" && with_progress "jaeger: packages compiled" "$packages" compiled_packages \
      "$log" go build -v -mod=readonly -trimpath -o "$tmp" \
      -ldflags "-X $pkg.latestVersion=$JAEGER_VERSION -X $pkg.commitSHA=$JAEGER_COMMIT -X $pkg.date=$JAEGER_DATE" \
      "$JAEGER_MODULE/cmd/jaeger"); then
    rm -f "$tmp"
    tail -n 20 "$log" >&2
    echo "jaeger build failed (whole log: $log)" >&2
    exit 1
  fi
  mv -f "$tmp" "$BIN_DIR/jaeger"
  mark_built jaeger "$stamp"
  echo "jaeger $JAEGER_VERSION built in $((SECONDS - start))s"
}

# count_cached_modules GO_SUM: how many of the module zips GO_SUM names are in
# Go's module cache already (paths escaped as the cache does: A -> !a).
count_cached_modules() {
  local cache mod ver n=0
  cache="$(go env GOMODCACHE)/cache/download"
  while read -r mod ver; do
    [[ -f "$cache/$mod/@v/$ver.zip" ]] && n=$((n + 1))
  done < <(grep -v '/go.mod ' "$1" | awk '{print $1, $2}' | sed -E 's/([A-Z])/!\L\1/g')
  echo "$n"
}

# One build at a time per tools cache: npm start and npm test started together
# would otherwise both write the same binaries. The second waits, then finds
# the tools built and skips.
lock_tools() {
  exec 9>"$TOOLS_DIR/.build.lock"
  if ! flock -n 9; then
    echo "tools: another build is under way (npm start or npm test elsewhere?); waiting for it to finish"
    flock 9
  fi
}

main() {
  local what=${1:-all}
  if [[ $what == --check && $# -eq 2 ]]; then
    check "$2"
  fi
  if (($# > 1)); then
    usage
    exit 2
  fi
  case "$what" in
    ghz | jaeger | all) ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage
      exit 2
      ;;
  esac

  mkdir -p "$BIN_DIR" "$STAMP_DIR"
  lock_tools

  local built=()
  if [[ $what == ghz || $what == all ]]; then
    build_ghz
    built+=("$BIN_DIR/ghz")
  fi
  if [[ $what == jaeger || $what == all ]]; then
    build_jaeger
    built+=("$BIN_DIR/jaeger")
  fi

  # Callers (CI, deploy scripts) can copy these paths as they are.
  echo "Binaries:"
  printf '  %s\n' "${built[@]}"
}

main "$@"
