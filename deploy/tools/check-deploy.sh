#!/usr/bin/env bash
# Static checks of Agora's container deployment (deploy/Dockerfile, docker-compose.yml,
# deploy/envoy/envoy.yaml) on a machine with neither a Docker engine nor an Envoy
# binary. What it runs:
#
#   1. envoycheck (deploy/tools/envoycheck, Go): envoy.yaml read into Envoy's v3
#      Bootstrap message and validated with the protoc-gen-validate rules of
#      go-control-plane, typed_config's included, plus cross-references (routes ->
#      clusters, router last, HTTP/2 for gRPC health checks, drain_timeout below
#      Envoy's --drain-time-s).
#   2. dockerfilecheck (same Go module): deploy/Dockerfile through BuildKit's own
#      parser and parse-time lint rules; every COPY source exists in the context and is
#      not excluded by .dockerignore (Docker's matcher); non-root USER, HEALTHCHECK,
#      STOPSIGNAL. Both tools are built once into the tools cache, like build-tools.sh.
#   3. Self-test: deliberately broken copies of envoy.yaml and the Dockerfile must
#      fail, so a validator that quietly accepts everything cannot pass for green.
#   4. docker-compose.yml through Debian's docker-compose 1.29 (`config -q`), installed
#      with apt-get when missing.
#   5. Cross-checks between the files and the code: every compose service built from
#      deploy/Dockerfile runs a real services/<name>/src/main.ts; every replica Envoy
#      balances over is a compose service running that service; callers dial Envoy;
#      every gRPC service in proto/ has a route; streaming RPCs follow the Watch*
#      naming the Envoy routes rely on; the Dockerfile's entry point and health-check
#      ports match tsconfig and service_config.ts; pinned versions agree (the Envoy
#      image and go-control-plane/envoy; the Node image and package.json's node).
#
# Usage: deploy/tools/check-deploy.sh
# Env:   AGORA_TOOLS_DIR  cache dir (default ~/.cache/agora/tools), shared with build-tools.sh.
# Exit:  0 when every check passed, 1 otherwise (the summary says which).

# Fail on any unexpected error; the checks themselves record PASS/FAIL and carry on, so
# one run reports every problem.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
TOOLS_DIR=${AGORA_TOOLS_DIR:-$HOME/.cache/agora/tools}
BIN_DIR=$TOOLS_DIR/bin
STAMP_DIR=$TOOLS_DIR/stamps
TOOLS_SRC=$SCRIPT_DIR/envoycheck
ENVOYCHECK=$BIN_DIR/envoycheck
DOCKERFILECHECK=$BIN_DIR/dockerfilecheck

ENVOY_YAML=deploy/envoy/envoy.yaml
COMPOSE_FILE=docker-compose.yml
DOCKERFILE=deploy/Dockerfile
SERVICES=(order payment inventory pricing report)

cd "$ROOT"
started=$SECONDS
summary=()
failures=0

pass() { summary+=("PASS  $*"); }
fail() {
  summary+=("FAIL  $*")
  failures=$((failures + 1))
}
step() { printf '\n== %s\n' "$*"; }

# --- 1-2. envoycheck and dockerfilecheck: build once, rebuild when their module changes

# The stamp is a hash of go.mod, go.sum and every .go file of the module (a new blank
# import is a source change that must rebuild), as build-tools.sh stamps jaeger with
# its go.mod/go.sum.
tools_stamp() {
  local sum
  sum=$(cd "$TOOLS_SRC" && { cat go.mod go.sum; find . -name '*.go' | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-16)
  echo "envoycheck-module src:$sum"
}

# build_tool NAME PACKAGE: builds $BIN_DIR/NAME from PACKAGE of the tools module,
# unless the binary there was built from this exact source.
build_tool() {
  local name=$1 pkg=$2 stamp
  mkdir -p "$BIN_DIR" "$STAMP_DIR"
  stamp=$(tools_stamp)
  if [[ -x $BIN_DIR/$name && -f $STAMP_DIR/$name && "$(<"$STAMP_DIR/$name")" == "$stamp" ]]; then
    echo "$name already built at $BIN_DIR/$name ($stamp)"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "Go is needed to build $name: apt-get install golang or see https://go.dev/dl" >&2
    return 1
  fi
  echo "Building $name ($stamp) from $TOOLS_SRC${pkg#.} ..."
  local start=$SECONDS tmp="$BIN_DIR/.$name.tmp.$$"
  # -mod=readonly: go.mod/go.sum exactly as committed. Temp file + mv, and the stamp
  # only after, so an interrupted build is redone rather than skipped.
  if ! (cd "$TOOLS_SRC" && go build -mod=readonly -trimpath -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    echo "$name build failed" >&2
    return 1
  fi
  mv -f "$tmp" "$BIN_DIR/$name"
  printf '%s\n' "$stamp" >"$STAMP_DIR/$name"
  echo "$name built in $((SECONDS - start))s"
}

# Envoy's --drain-time-s as docker-compose.yml passes it (envoycheck checks every
# drain_timeout against it). Empty when not found.
compose_drain_time() {
  grep -oE '"--drain-time-s", *"[0-9]+"' "$COMPOSE_FILE" | grep -oE '[0-9]+"$' | tr -d '"' || true
}

check_envoy() {
  step "envoycheck $ENVOY_YAML"
  if ! build_tool envoycheck .; then
    fail "envoycheck could not be built"
    return
  fi
  local drain
  drain=$(compose_drain_time)
  if [[ -z $drain ]]; then
    fail "$COMPOSE_FILE: no --drain-time-s for Envoy"
    drain=0
  fi
  if "$ENVOYCHECK" -deny-deprecated -drain-time-s "$drain" "$ENVOY_YAML"; then
    pass "$ENVOY_YAML is a valid Envoy v3 bootstrap ($("$ENVOYCHECK" -version))"
  else
    fail "$ENVOY_YAML is not a valid Envoy config (see above)"
  fi
}

check_dockerfile() {
  step "dockerfilecheck $DOCKERFILE"
  if ! build_tool dockerfilecheck ./dockerfilecheck; then
    fail "dockerfilecheck could not be built"
    return
  fi
  # The context is the repo root, as docker-compose.yml builds it.
  if "$DOCKERFILECHECK" -context . "$DOCKERFILE"; then
    pass "$DOCKERFILE parses with BuildKit's parser, passes its parse-time lint rules, COPYs only what the context has"
  else
    fail "$DOCKERFILE has problems (see above)"
  fi
}

# --- 3. self-test of the validators ----------------------------------------------------

# mutant TOOL FILE NAME SED-SCRIPT: a copy of FILE with one deliberate mistake must be
# rejected by TOOL. The sed script must change the file, or the test itself is broken.
# (The Dockerfile copy may live anywhere: COPY sources are relative to the context.)
mutant() {
  local tool=$1 file=$2 name=$3 script=$4
  local copy
  copy="$SELFTEST_DIR/$name.$(basename "$file")"
  sed -e "$script" "$file" >"$copy"
  if cmp -s "$copy" "$file"; then
    fail "self-test '$name': the mutation no longer applies to $file"
    return
  fi
  local out rc=0
  case $tool in
    envoycheck) out=$("$ENVOYCHECK" -deny-deprecated "$copy" 2>&1) || rc=$? ;;
    dockerfilecheck) out=$("$DOCKERFILECHECK" -context . "$copy" 2>&1) || rc=$? ;;
  esac
  if ((rc == 0)); then
    fail "self-test '$name': $tool accepted a broken $file"
  else
    echo "  $name: rejected as expected: $(head -n1 <<<"$out" | sed -E 's/^[a-z]+: [^:]*: //')"
  fi
}

check_validators_reject() {
  step "self-test: broken copies of $ENVOY_YAML and $DOCKERFILE must fail"
  if [[ ! -x $ENVOYCHECK || ! -x $DOCKERFILECHECK ]]; then
    fail "self-test skipped: the validators were not built"
    return
  fi
  local before=$failures
  SELFTEST_DIR=$(mktemp -d)
  trap 'rm -rf "$SELFTEST_DIR"' EXIT
  mutant envoycheck "$ENVOY_YAML" negative-timeout '0,/connect_timeout: 1s/s//connect_timeout: -1s/'
  mutant envoycheck "$ENVOY_YAML" unknown-field 's/^\( *\)codec_type: AUTO$/&\n\1codec_typo: AUTO/'
  mutant envoycheck "$ENVOY_YAML" missing-cluster '0,/cluster: pricing$/s//cluster: pricing-typo/'
  mutant envoycheck "$ENVOY_YAML" pgv-rule-in-typed-config 's/stat_prefix: agora_grpc/stat_prefix: ""/'
  mutant dockerfilecheck "$DOCKERFILE" copy-missing-source 's/^COPY tsconfig.json /COPY tsconfig.missing.json /'
  mutant dockerfilecheck "$DOCKERFILE" root-user 's/^USER node$/USER root/'
  rm -rf "$SELFTEST_DIR"
  if ((failures == before)); then
    pass "the validators reject broken inputs (negative duration, unknown field, dangling cluster, PGV rule inside typed_config; missing COPY source, root user)"
  fi
}

# --- 4. docker-compose config -q ------------------------------------------------------

ensure_docker_compose() {
  if command -v docker-compose >/dev/null 2>&1; then
    return 0
  fi
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "docker-compose is missing: apt-get install docker-compose (Debian 12 ships 1.29)" >&2
    return 1
  fi
  echo "Installing Debian's docker-compose (apt-get) ..."
  local start=$SECONDS log
  log=$(mktemp)
  # apt's chatter goes to a log, shown only when the install fails.
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a \
    apt-get install -y -qq docker-compose; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  echo "docker-compose installed in $((SECONDS - start))s"
}

check_compose() {
  step "docker-compose config -q ($COMPOSE_FILE)"
  if ! ensure_docker_compose; then
    fail "docker-compose unavailable: $COMPOSE_FILE not checked"
    return
  fi
  docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /' || true
  # `config` parses, validates against the compose schema and resolves anchors; it needs
  # no Docker engine.
  if docker-compose -f "$COMPOSE_FILE" config -q; then
    pass "$COMPOSE_FILE is valid for docker-compose $(docker-compose version --short 2>/dev/null)"
  else
    fail "$COMPOSE_FILE rejected by docker-compose config (see above)"
  fi
}

# --- 5. cross-checks ------------------------------------------------------------------

# The cross-checks read the resolved compose model (`docker-compose config`), envoy.yaml
# and the Dockerfile with Python and PyYAML, which Debian's docker-compose depends on.
# Each line printed is "PASS <what>" or "FAIL <what>".
check_cross() {
  step "cross-checks: compose, Envoy, Dockerfile, services/, proto/"
  if ! command -v docker-compose >/dev/null 2>&1 || ! python3 -c 'import yaml' 2>/dev/null; then
    fail "cross-checks skipped: need docker-compose and python3-yaml"
    return
  fi
  local model
  model=$(mktemp)
  if ! docker-compose -f "$COMPOSE_FILE" config >"$model" 2>/dev/null; then
    rm -f "$model"
    fail "cross-checks skipped: docker-compose config failed"
    return
  fi
  local line
  while IFS= read -r line; do
    case $line in
      PASS\ *) pass "${line#PASS }" ;;
      FAIL\ *) fail "${line#FAIL }" ;;
      *) echo "$line" ;;
    esac
  done < <(python3 - "$model" "$ENVOY_YAML" "$DOCKERFILE" "${SERVICES[@]}" <<'PY'
import glob, json, os, re, sys
import yaml

model_file, envoy_file, dockerfile = sys.argv[1:4]
services = sys.argv[4:]
model = yaml.safe_load(open(model_file))["services"]
envoy = yaml.safe_load(open(envoy_file))

def result(ok, what, problems=()):
    print(("PASS " if ok else "FAIL ") + what + ("" if ok else ": " + "; ".join(problems)))

def env(svc):
    e = svc.get("environment") or {}
    return e if isinstance(e, dict) else dict(x.split("=", 1) for x in e)

# Compose services built from deploy/Dockerfile, and what they run.
built = {n: s for n, s in model.items()
         if isinstance(s.get("build"), dict) and s["build"].get("dockerfile") == dockerfile}
problems, runs = [], {}
for name, s in sorted(built.items()):
    svc = env(s).get("AGORA_SERVICE")
    if not svc:
        problems.append(f"{name} sets no AGORA_SERVICE")
    elif not os.path.isfile(f"services/{svc}/src/main.ts"):
        problems.append(f"{name}: services/{svc}/src/main.ts does not exist")
    else:
        runs[name] = svc
result(not problems and runs, f"{len(runs)} compose services built from {dockerfile} each run a real services/<name>/src/main.ts", problems)

counts = {svc: sorted(n for n, v in runs.items() if v == svc) for svc in services}
short = [f"{svc} has {len(r)} ({', '.join(r) or 'none'})" for svc, r in counts.items() if len(r) < 2]
result(not short, "every service has at least two replicas in compose", short)

# Envoy clusters: each endpoint host is a compose replica running that service, on its gRPC port.
ports = dict(re.findall(r"^\s*(\w+): (\d{5}),", open("services/common/config/service_config.ts").read(), re.M))
clusters = {c["name"]: c for c in envoy["static_resources"]["clusters"]}
problems = []
for svc in services:
    c = clusters.get(svc)
    if not c:
        problems.append(f"no Envoy cluster {svc}")
        continue
    hosts = [ep["endpoint"]["address"]["socket_address"]
             for grp in c["load_assignment"]["endpoints"] for ep in grp["lb_endpoints"]]
    names = sorted(h["address"] for h in hosts)
    if names != counts[svc]:
        problems.append(f"cluster {svc} balances over {names}, compose runs {counts[svc]}")
    for h in hosts:
        want = int(env(model.get(h["address"], {})).get(f"AGORA_{svc.upper()}_PORT", ports.get(svc, 0)))
        if h["port_value"] != want:
            problems.append(f"cluster {svc}: {h['address']}:{h['port_value']}, the service listens on {want}")
result(not problems, "Envoy's clusters list exactly the compose replicas, on their gRPC ports", problems)

# Callers dial Envoy's listener, never a replica.
listener_ports = {l["address"]["socket_address"]["port_value"] for l in envoy["static_resources"]["listeners"]}
problems, dials = [], 0
for name, s in sorted(built.items()):
    for k, v in env(s).items():
        if re.fullmatch(r"AGORA_[A-Z]+_ADDR", k):
            dials += 1
            host, _, port = str(v).rpartition(":")
            if host != "envoy" or int(port) not in listener_ports:
                problems.append(f"{name}: {k}={v} is not envoy:<listener port {sorted(listener_ports)}>")
    if env(s).get("OTEL_EXPORTER_OTLP_ENDPOINT") != "http://jaeger:4318":
        problems.append(f"{name}: OTEL_EXPORTER_OTLP_ENDPOINT is not http://jaeger:4318")
result(not problems and dials, f"service-to-service calls go through Envoy ({dials} AGORA_*_ADDR), traces to Jaeger", problems)

mounts = [v for v in model.get("envoy", {}).get("volumes", [])]
mounted = any((isinstance(v, str) and v.split(":")[0].endswith(envoy_file)) or
              (isinstance(v, dict) and str(v.get("source", "")).endswith(envoy_file)) for v in mounts)
result(mounted, f"compose mounts {envoy_file} into Envoy", [f"envoy volumes: {mounts}"])

# proto/: every service has a route; streaming RPCs are Watch* (the routes without a
# per-try timeout match /Watch[A-Za-z0-9]*).
paths = []
def routes(node):
    if isinstance(node, dict):
        m = node.get("match")
        if isinstance(m, dict):
            paths.append(m.get("prefix") or m.get("path") or (m.get("safe_regex") or {}).get("regex", "").replace("\\.", "."))
        for v in node.values(): routes(v)
    elif isinstance(node, list):
        for v in node: routes(v)
routes(envoy)
problems, names = [], []
for f in sorted(glob.glob("proto/agora/*/v1/*_service.proto")):
    text = open(f).read()
    pkg = re.search(r"^package ([\w.]+);", text, re.M).group(1)
    for svc in re.findall(r"^service (\w+)", text, re.M):
        full = f"{pkg}.{svc}"
        names.append(full)
        if not any(p.startswith(f"/{full}/") for p in paths):
            problems.append(f"no Envoy route for /{full}/")
    for rpc in re.findall(r"rpc (\w+)\([^)]*\)\s*returns\s*\(\s*stream\b", text):
        if not rpc.startswith("Watch"):
            problems.append(f"{f}: streaming RPC {rpc} is not named Watch*, so Envoy would cut it at the unary per-try timeout")
        elif not any(p.startswith(f"/{pkg}.") and "/Watch" in p for p in paths):
            problems.append(f"{f}: no Watch* route for streaming RPC {rpc}")
result(not problems and names, f"Envoy routes every gRPC service in proto/ ({len(names)}) and every streaming RPC as a stream", problems)

# Dockerfile (syntax, COPY sources, USER, ... are dockerfilecheck's): the entry point
# is what tsc produces, and the HEALTHCHECK knows the services' real ports.
text = open(dockerfile).read()
problems = []
if "dist/services/$AGORA_SERVICE/src/main.js" not in text:
    problems.append("entry point is not dist/services/$AGORA_SERVICE/src/main.js")
tsconfig = open("tsconfig.json").read()
if not re.search(r'"outDir":\s*"dist"', tsconfig) or not re.search(r'"rootDir":\s*"\."', tsconfig):
    problems.append("tsconfig.json no longer compiles services/<svc>/src/main.ts to dist/services/<svc>/src/main.js")
hc = dict((k, int(v)) for k, v in re.findall(r"(\w+):(\d{5})", text))
want = {k: int(v) for k, v in ports.items()}
if not want or {k: hc.get(k) for k in want} != want:
    problems.append(f"HEALTHCHECK ports {hc} differ from services/common/config/service_config.ts {want}")
result(not problems, "Dockerfile entry point matches tsc's output; its HEALTHCHECK uses service_config.ts's ports", problems)

# Pinned versions agree.
problems = []
img = model.get("envoy", {}).get("image", "")
gomod = open("deploy/tools/envoycheck/go.mod").read()
m_img = re.search(r":v(\d+)\.(\d+)", img)
m_mod = re.search(r"github.com/envoyproxy/go-control-plane/envoy v(\d+)\.(\d+)", gomod)
if not (m_img and m_mod and m_img.groups() == m_mod.groups()):
    problems.append(f"Envoy image {img} vs go-control-plane/envoy {m_mod.group(0) if m_mod else '?'} in envoycheck/go.mod")
pkg = json.load(open("package.json"))
node = pkg.get("devDependencies", {}).get("node", "")
m_node = re.search(r"^ARG NODE_IMAGE=node:([\d.]+)-", text, re.M)
if not m_node or m_node.group(1) != node:
    problems.append(f"Dockerfile NODE_IMAGE node:{m_node.group(1) if m_node else '?'} vs package.json node {node}")
api = f"v{m_mod.group(1)}.{m_mod.group(2)}" if m_mod else "?"
result(not problems, f"pins agree: {img} with go-control-plane/envoy {api}; node:{node} image with package.json's node", problems)
PY
)
  rm -f "$model"
}

main() {
  if (($# > 0)); then
    echo "usage: $0   (no arguments; see the header for what it checks)" >&2
    exit 2
  fi
  check_envoy
  check_dockerfile
  check_validators_reject
  check_compose
  check_cross

  printf '\n== check-deploy summary (%ss)\n' "$((SECONDS - started))"
  printf '  %s\n' "${summary[@]}"
  echo "  Not run here: no Docker engine (images not built, compose not started), no Envoy binary."
  if ((failures > 0)); then
    echo "check-deploy: $failures check(s) FAILED"
    exit 1
  fi
  echo "check-deploy: all ${#summary[@]} checks passed"
}

main "$@"
