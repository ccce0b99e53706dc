#!/usr/bin/env bash
# Static checks of Agora's container deployment (deploy/Dockerfile, docker-compose.yml,
# deploy/envoy/envoy.yaml) on a machine with neither a Docker engine nor an Envoy
# binary. What it runs:
#
#   1. envoycheck (deploy/tools/envoycheck, Go): envoy.yaml read into Envoy's v3
#      Bootstrap message and validated with the protoc-gen-validate rules of
#      go-control-plane, typed_config's included (jwt_authn and rbac too), plus
#      cross-references (routes -> clusters, router last, HTTP/2 for gRPC health checks,
#      drain_timeout below Envoy's --drain-time-s) and the edge's security:
#        - the HTTP filters run cors -> jwt_authn -> rbac -> router;
#        - jwt_authn + rbac, evaluated for every RPC of proto/ and callers without a
#          token and with tokens of several role sets, implement the access table below
#          (ADMIN_RPCS: roles must contain admin; SAGA_RPCS: admin or service:order; any
#          other RPC: any valid token; OPEN_PATHS: no token), and the table names only
#          RPCs that exist in proto/;
#        - jwt_authn forwards the token (the services verify it again), names only
#          providers it has, lets CORS preflights through;
#        - every CORS policy allows exact origins only (no "*", prefix or regex) and the
#          headers gRPC-Web needs with a bearer token.
#   2. dockerfilecheck (same Go module): deploy/Dockerfile through BuildKit's own
#      parser and parse-time lint rules; every COPY source exists in the context and is
#      not excluded by .dockerignore (Docker's matcher); non-root USER, HEALTHCHECK,
#      STOPSIGNAL. Both tools are built once into the tools cache, like build-tools.sh.
#   3. Self-test: deliberately broken copies of envoy.yaml, the Dockerfile and proto/
#      must fail, each with the message of the check it breaks, so a validator that
#      quietly accepts everything cannot pass for green.
#   4. docker-compose.yml through Debian's docker-compose 1.29 (`config -q`), installed
#      with apt-get when missing.
#   5. Cross-checks between the files and the code: every compose service built from
#      deploy/Dockerfile runs a real services/<name>/src/main.ts; every replica Envoy
#      balances over is a compose service running that service; callers dial Envoy;
#      every gRPC service in proto/ has a route; streaming RPCs follow the Watch*
#      naming the Envoy routes rely on; the Dockerfile's entry point and health-check
#      ports match tsconfig and service_config.ts; pinned versions agree (the Envoy
#      image and go-control-plane/envoy; the Node image and package.json's node).
#      Auth and secrets: no password, guest user or credentials in a URL in
#      docker-compose.yml; every *_FILE points at a Docker secret the container has,
#      kept in git-ignored deploy/compose/secrets/ with a committed .example; Redis and
#      RabbitMQ require credentials; each service's database role may use its own
#      schema only (deploy/compose/postgres-init/ against services/*/src/main.ts);
#      the JWKS Envoy reads is mounted into Envoy and the services from one place;
#      issuer, audience, roles claim and CORS origins agree between Envoy and the
#      services, which run with AGORA_ENV=production (Payment: staging, with the
#      sandbox provider); the access table agrees with the services' own
#      (services/common/auth/access_table.ts).
#   6. Self-test of the cross-checks: broken copies of docker-compose.yml and of the
#      files it points at must each fail the cross-check they break.
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

# The access table Envoy must implement (and services/common/auth/access_table.ts
# too: its 'admin' and 'saga' rows). Every RPC of PROTO_RPCS not listed here needs any
# valid token; the services then apply their finer rules (customers: own orders only).
# An entry is pkg.Service/Method or pkg.Service/* (every RPC of the service in proto/);
# an entry that names no RPC of proto/ is an error (renamed or removed?).
PROTO_RPCS='proto/agora/*/v1/*_service.proto'
ADMIN_RPCS=(
  agora.pricing.v1.PricingService/SetBasePrice
  agora.pricing.v1.PricingService/CreatePriceRule
  agora.pricing.v1.PricingService/ListPriceRules
  agora.pricing.v1.PricingService/DeletePriceRule
  agora.inventory.v1.InventoryService/SetLowStockThreshold
  agora.inventory.v1.InventoryService/ListLowStockAlerts
  agora.inventory.v1.InventoryService/WatchLowStockAlerts
  agora.order.v1.OrderService/Reconcile
  'agora.report.v1.ReportService/*'
)
ADMIN_ROLES=admin
SAGA_RPCS=(
  agora.inventory.v1.InventoryService/ReserveStock
  agora.inventory.v1.InventoryService/CommitReservation
  agora.inventory.v1.InventoryService/ReleaseReservation
  agora.inventory.v1.InventoryService/GetReservation
  agora.inventory.v1.InventoryService/AdjustStock
  agora.inventory.v1.InventoryService/ScanReservations
  agora.inventory.v1.InventoryService/CheckStockMirror
  'agora.payment.v1.PaymentService/*'
)
SAGA_ROLES=admin,service:order
# Must work without a token.
OPEN_PATHS=(
  /grpc.health.v1.Health/Check
  /grpc.health.v1.Health/Watch
  /grpc.reflection.v1.ServerReflection/ServerReflectionInfo
  /grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo
)

join_by_comma() {
  local IFS=,
  echo "$*"
}

# access_args GLOB: envoycheck's flags for the access table, with the RPCs of GLOB.
access_args() {
  local args=(-rpcs "$1" -restrict "$ADMIN_ROLES=$(join_by_comma "${ADMIN_RPCS[@]}")" -restrict "$SAGA_ROLES=$(join_by_comma "${SAGA_RPCS[@]}")")
  local path
  for path in "${OPEN_PATHS[@]}"; do
    args+=(-open "$path")
  done
  printf '%s\n' "${args[@]}"
}

cd "$ROOT"
started=$SECONDS
ENVOYCHECK_ARGS=()
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
  # The same flags for the self-test's broken copies.
  mapfile -t ENVOYCHECK_ARGS < <(echo -deny-deprecated; echo -drain-time-s; echo "$drain"; access_args "$PROTO_RPCS")
  if "$ENVOYCHECK" "${ENVOYCHECK_ARGS[@]}" "$ENVOY_YAML"; then
    pass "$ENVOY_YAML is a valid Envoy v3 bootstrap ($("$ENVOYCHECK" -version)); its cors -> jwt_authn -> rbac chain implements the access table for every RPC of $PROTO_RPCS"
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

# mutant TOOL FILE NAME SED-SCRIPT [EXPECT [SED-FLAGS]]: a copy of FILE with one
# deliberate mistake must be rejected by TOOL, and when EXPECT is given, with a message
# containing EXPECT (so it is the check meant that fires, not another one). The sed
# script must change the file, or the test itself is broken. (The Dockerfile copy may
# live anywhere: COPY sources are relative to the context.)
mutant() {
  local tool=$1 file=$2 name=$3 script=$4 expect=${5:-} flags=${6:-}
  local copy
  copy="$SELFTEST_DIR/$name.$(basename "$file")"
  # shellcheck disable=SC2086 # flags is empty or one sed option
  sed $flags -e "$script" "$file" >"$copy"
  if cmp -s "$copy" "$file"; then
    fail "self-test '$name': the mutation no longer applies to $file"
    return
  fi
  local out rc=0
  case $tool in
    envoycheck) out=$("$ENVOYCHECK" "${ENVOYCHECK_ARGS[@]}" "$copy" 2>&1) || rc=$? ;;
    dockerfilecheck) out=$("$DOCKERFILECHECK" -context . "$copy" 2>&1) || rc=$? ;;
  esac
  if ((rc == 0)); then
    fail "self-test '$name': $tool accepted a broken $file"
  elif [[ -n $expect && $out != *"$expect"* ]]; then
    fail "self-test '$name': $tool rejected the broken $file, but not with \"$expect\": $(head -n1 <<<"$out")"
  else
    local first
    first=$(grep -m1 -F -- "${expect:-}" <<<"$out" || head -n1 <<<"$out")
    echo "  $name: rejected as expected: $(sed -E 's/^ +//; s/^[a-z]+: [^:]*: //; s/^(error: )?line [0-9]+, [^ ]+: //' <<<"$first" | cut -c1-200)"
  fi
}

# proto_mutant NAME SED-SCRIPT EXPECT: envoycheck, given a copy of proto/ with one
# change, must refuse the access table (an entry that names no RPC any more).
proto_mutant() {
  local name=$1 script=$2 expect=$3
  local dir="$SELFTEST_DIR/$name.proto"
  mkdir -p "$dir"
  cp -r proto/agora "$dir/"
  local f changed=0
  for f in "$dir"/agora/*/v1/*_service.proto; do
    sed -i.orig -e "$script" "$f"
    cmp -s "$f" "$f.orig" || changed=1
    rm -f "$f.orig"
  done
  if ((changed == 0)); then
    fail "self-test '$name': the mutation no longer applies to proto/"
    return
  fi
  local args out rc=0
  mapfile -t args < <(access_args "$dir/agora/*/v1/*_service.proto")
  out=$("$ENVOYCHECK" -deny-deprecated "${args[@]}" "$ENVOY_YAML" 2>&1) || rc=$?
  if ((rc == 0)); then
    fail "self-test '$name': envoycheck accepted an access table that no longer matches proto/"
  elif [[ $out != *"$expect"* ]]; then
    fail "self-test '$name': envoycheck failed, but not with \"$expect\": $(head -n1 <<<"$out")"
  else
    echo "  $name: rejected as expected: $(head -n1 <<<"$out" | sed "s|$dir/||g")"
  fi
}

check_validators_reject() {
  step "self-test: broken copies of $ENVOY_YAML, proto/ and $DOCKERFILE must fail"
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
  # The auth filters' typed configs are validated too (PGV inside jwt_authn and rbac).
  mutant envoycheck "$ENVOY_YAML" pgv-rule-in-jwt-authn 's|filename: /etc/agora/auth/jwks.json|filename: ""|' 'value length must be at least 1 runes'
  mutant envoycheck "$ENVOY_YAML" pgv-rule-in-rbac '0,/filter: envoy.filters.http.jwt_authn/s//filter: ""/' 'value length must be at least 1 runes'
  # Filter order: rbac moved before jwt_authn.
  mutant envoycheck "$ENVOY_YAML" rbac-before-jwt-authn 's/\(          - name: envoy.filters.http.jwt_authn\n.*\)\(          - name: envoy.filters.http.rbac\n.*\)\(          - name: envoy.filters.http.router\n\)/\2\1\3/' 'runs after envoy.filters.http.rbac' -z
  # jwt_authn: the token made optional; not forwarded; an unknown provider; health
  # checks no longer exempt; preflights not let through.
  mutant envoycheck "$ENVOY_YAML" jwt-optional 's/requires: {provider_name: agora}/requires: {allow_missing: {}}/' 'with no token: Envoy lets it through'
  mutant envoycheck "$ENVOY_YAML" jwt-not-forwarded 's/forward: true/forward: false/' 'removes the token before the upstream'
  mutant envoycheck "$ENVOY_YAML" jwt-unknown-provider 's/requires: {provider_name: agora}/requires: {provider_name: agora-typo}/' 'no jwt_authn provider named "agora-typo"'
  mutant envoycheck "$ENVOY_YAML" jwt-health-needs-token 's|match: {prefix: "/grpc.health.v1.Health/"}|match: {prefix: "/grpc.health.v2.Health/"}|' '/grpc.health.v1.Health/Check with no token: Envoy refuses it'
  mutant envoycheck "$ENVOY_YAML" jwt-preflight-refused 's/bypass_cors_preflight: true/bypass_cors_preflight: false/' 'a CORS preflight carries no token'
  # rbac: an admin RPC left out; a saga RPC left out; a typo in a role; the roles read
  # from another metadata key than jwt_authn writes.
  mutant envoycheck "$ENVOY_YAML" rbac-admin-rpc-open 's|exact: "/agora.pricing.v1.PricingService/SetBasePrice"|exact: "/agora.pricing.v1.PricingService/SetBasePrices"|' '/agora.pricing.v1.PricingService/SetBasePrice with a valid token with roles [customer]: Envoy lets it through'
  mutant envoycheck "$ENVOY_YAML" rbac-saga-rpc-open '/InventoryService\/ReserveStock"/d' '/agora.inventory.v1.InventoryService/ReserveStock with a valid token with roles [customer]: Envoy lets it through'
  mutant envoycheck "$ENVOY_YAML" rbac-role-typo 's/exact: "service:order"/exact: "service:orders"/' 'with roles [customer, service:order]: Envoy refuses it'
  mutant envoycheck "$ENVOY_YAML" rbac-metadata-key 's/payload_in_metadata: jwt_payload/payload_in_metadata: jwt_claims/' 'with roles [customer, admin]: Envoy refuses it'
  # CORS: every origin by regex; "*"; a prefix; authorization not allowed.
  mutant envoycheck "$ENVOY_YAML" cors-regex-all 's|- exact: "http://localhost:5173"|- safe_regex: {regex: ".*"}|' 'matches origins by pattern'
  mutant envoycheck "$ENVOY_YAML" cors-star 's|- exact: "http://localhost:5173"|- exact: "*"|' 'admits every site'
  mutant envoycheck "$ENVOY_YAML" cors-prefix 's|- exact: "http://localhost:5173"|- prefix: "http://localhost"|' 'matches origins by pattern'
  mutant envoycheck "$ENVOY_YAML" cors-no-authorization 's/allow_headers: "authorization, /allow_headers: "/' 'lacks authorization'
  # The access table follows proto/: a renamed admin RPC is an error, not a silent gap.
  proto_mutant proto-admin-rpc-renamed 's/rpc SetBasePrice(/rpc SetBasePriceV2(/' 'agora.pricing.v1.PricingService/SetBasePrice names no RPC'
  mutant dockerfilecheck "$DOCKERFILE" copy-missing-source 's/^COPY tsconfig.json /COPY tsconfig.missing.json /'
  mutant dockerfilecheck "$DOCKERFILE" root-user 's/^USER node$/USER root/'
  rm -rf "$SELFTEST_DIR"
  if ((failures == before)); then
    pass "the validators reject broken inputs (negative duration, unknown field, dangling cluster, PGV rules inside typed_config, jwt_authn and rbac; filter order, optional or unforwarded token, unknown provider, health check needing a token, refused preflight; admin or saga RPC left open, role typo, wrong metadata key; CORS by regex, *, prefix, no authorization header; access table out of date with proto/; missing COPY source, root user)"
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

# The cross-checks read the resolved compose model (`docker-compose config`), the compose
# file itself, envoy.yaml, the Dockerfile and the files they point at, with Python and
# PyYAML (which Debian's docker-compose depends on). Each line printed is
# "PASS<tab>id<tab>what" or "FAIL<tab>id<tab>what: problems"; anything else is
# commentary. AGORA_CROSS_OVERRIDES (JSON, repo path -> file) swaps a file for a broken
# copy in the self-test (section 6).
read -r -d '' CROSS_PY <<'PY' || true
import glob, json, os, re, subprocess, sys
import yaml

model_file, compose_file, compose_label, envoy_file, dockerfile = sys.argv[1:6]
services = sys.argv[6:]
overrides = json.loads(os.environ.get("AGORA_CROSS_OVERRIDES") or "{}")
admin_rpcs = [p for p in os.environ.get("AGORA_ACCESS_ADMIN", "").split(",") if p]
saga_rpcs = [p for p in os.environ.get("AGORA_ACCESS_SAGA", "").split(",") if p]
root = os.getcwd()

def read(path):
    return open(overrides.get(path, path)).read()

def result(check_id, ok, what, problems=()):
    print(("PASS" if ok else "FAIL") + "\t" + check_id + "\t" + what + ("" if ok else "\t" + "; ".join(problems)))

model_all = yaml.safe_load(open(model_file))
model = model_all["services"]
envoy = yaml.safe_load(read(envoy_file))

def env(svc):
    e = svc.get("environment") or {}
    return e if isinstance(e, dict) else dict(x.split("=", 1) for x in e)

def walk(node):
    """Every dict in a YAML tree."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)

def typed(node, suffix):
    return [d for d in walk(node) if str(d.get("@type", "")).endswith(suffix)]

def volumes(svc):
    """(source, target) of each bind mount or volume, sources relative to the repo root."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, str):
            parts = v.split(":")
            src, dst = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        else:
            src, dst = str(v.get("source", "")), str(v.get("target", ""))
        if os.path.isabs(src):
            src = os.path.relpath(src, root)
        out.append((src, dst))
    return out

def mounted(svc, path):
    """The host path that a container path comes from, or None."""
    for src, dst in volumes(svc):
        dst = dst.rstrip("/")
        if path == dst:
            return src
        if path.startswith(dst + "/"):
            return os.path.join(src, path[len(dst) + 1:])
    return None

def secrets_of(svc):
    return {s if isinstance(s, str) else s.get("source") for s in svc.get("secrets") or []}

def command_text(svc, key="command"):
    c = svc.get(key)
    if isinstance(c, dict):  # healthcheck
        c = c.get("test")
    return " ".join(c) if isinstance(c, list) else str(c or "")

def url_user(url):
    m = re.match(r"^[a-z][a-z0-9+.-]*://([^@/]*)@", str(url))
    return m.group(1) if m else None

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
result("services-real", not problems and runs, f"{len(runs)} compose services built from {dockerfile} each run a real services/<name>/src/main.ts", problems)

counts = {svc: sorted(n for n, v in runs.items() if v == svc) for svc in services}
short = [f"{svc} has {len(r)} ({', '.join(r) or 'none'})" for svc, r in counts.items() if len(r) < 2]
result("replicas", not short, "every service has at least two replicas in compose", short)

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
result("clusters", not problems, "Envoy's clusters list exactly the compose replicas, on their gRPC ports", problems)

# Callers dial Envoy's listener, never a replica.
listener_ports = {l["address"]["socket_address"]["port_value"] for l in envoy["static_resources"]["listeners"]}
problems, dials, callers = [], 0, set()
for name, s in sorted(built.items()):
    for k, v in env(s).items():
        if re.fullmatch(r"AGORA_[A-Z]+_ADDR", k):
            dials += 1
            callers.add(name)
            host, _, port = str(v).rpartition(":")
            if host != "envoy" or int(port) not in listener_ports:
                problems.append(f"{name}: {k}={v} is not envoy:<listener port {sorted(listener_ports)}>")
    if env(s).get("OTEL_EXPORTER_OTLP_ENDPOINT") != "http://jaeger:4318":
        problems.append(f"{name}: OTEL_EXPORTER_OTLP_ENDPOINT is not http://jaeger:4318")
result("via-envoy", not problems and dials, f"service-to-service calls go through Envoy ({dials} AGORA_*_ADDR), traces to Jaeger", problems)

envoy_svc = model.get("envoy", {})
ok = mounted(envoy_svc, "/etc/envoy/envoy.yaml") == envoy_file
result("envoy-mounted", ok, f"compose mounts {envoy_file} into Envoy", [f"envoy volumes: {envoy_svc.get('volumes')}"])

# proto/: every service has a route; streaming RPCs are Watch* (the routes without a
# per-try timeout match /Watch[A-Za-z0-9]*).
paths = []
for d in walk(envoy):
    m = d.get("match")
    if isinstance(m, dict) and "route" in d:
        paths.append(m.get("prefix") or m.get("path") or (m.get("safe_regex") or {}).get("regex", "").replace("\\.", "."))
problems, names, rpcs = [], [], []
for f in sorted(glob.glob("proto/agora/*/v1/*_service.proto")):
    text = open(f).read()
    pkg = re.search(r"^package ([\w.]+);", text, re.M).group(1)
    for svc in re.findall(r"^service (\w+)", text, re.M):
        full = f"{pkg}.{svc}"
        names.append(full)
        if not any(p.startswith(f"/{full}/") for p in paths):
            problems.append(f"no Envoy route for /{full}/")
        rpcs += [f"{full}/{r}" for r in re.findall(r"^\s*rpc (\w+)\(", text.split(f"service {svc}", 1)[1], re.M)]
    for rpc in re.findall(r"rpc (\w+)\([^)]*\)\s*returns\s*\(\s*stream\b", text):
        if not rpc.startswith("Watch"):
            problems.append(f"{f}: streaming RPC {rpc} is not named Watch*, so Envoy would cut it at the unary per-try timeout")
        elif not any(p.startswith(f"/{pkg}.") and "/Watch" in p for p in paths):
            problems.append(f"{f}: no Watch* route for streaming RPC {rpc}")
result("proto-routes", not problems and names, f"Envoy routes every gRPC service in proto/ ({len(names)}) and every streaming RPC as a stream", problems)

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
result("dockerfile", not problems, "Dockerfile entry point matches tsc's output; its HEALTHCHECK uses service_config.ts's ports", problems)

# Pinned versions agree.
problems = []
img = envoy_svc.get("image", "")
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
result("pins", not problems, f"pins agree: {img} with go-control-plane/envoy {api}; node:{node} image with package.json's node", problems)

# ---- auth and secrets ------------------------------------------------------------

# No password in docker-compose.yml: not as a literal value of a *PASS*/*SECRET*/*TOKEN*
# key (only *_FILE paths and "$(cat /run/secrets/...)" read at run time), not in a URL
# (user:password@), not as redis --requirepass / redis-cli -a, and no guest user; both in
# the file as written (comments aside) and in the resolved model (anchors, ${VAR:-default}).
SECRETISH = r"[A-Za-z0-9_]*(?:pass|secret|token|cli_auth)[A-Za-z0-9_]*"
def runtime_value(v):
    return v.lstrip('\\"\'').startswith("$")
def scan(text, where):
    found = []
    for key, value in re.findall(r"(?i)\b(" + SECRETISH + r")[\"']?\s*[:=]\s*([^\s,}\]]*)", text):
        # *_FILE paths, the compose `secrets:` lists, nested mappings, anchors and aliases.
        if key.lower().endswith("_file") or key.lower() == "secrets" or value in ("", "|", ">") or value[0] in "{&*" or runtime_value(value):
            continue
        found.append(f"{where}: {key} is set to a literal ({value[:3]}...)")
    for value in re.findall(r"--requirepass\s+(\S+)", text) + re.findall(r"redis-cli\b[^\n]*?\s-a\s+(\S+)", text):
        if not runtime_value(value):
            found.append(f"{where}: a Redis password on the command line ({value[:3]}...)")
    for scheme, user in re.findall(r"\b([a-z][a-z0-9+.-]*)://([^/\s:@'\"]+):[^@\s/'\"]*@", text):
        found.append(f"{where}: a password in a {scheme}:// URL (user {user})")
    if re.search(r"(?i)\bguest\b", text):
        found.append(f"{where}: mentions the guest user")
    return found
problems = []
for n, line in enumerate(read(compose_file).splitlines(), 1):
    if line.lstrip().startswith("#"):
        continue
    problems += scan(re.sub(r"\s#.*$", "", line), f"{compose_label}:{n}")
for name, s in sorted(model.items()):
    for k, v in env(s).items():
        problems += scan(f"{k}: {v}", f"service {name}")
    if env(s).get("RABBITMQ_DEFAULT_USER", "agora") == "guest":
        problems.append(f"service {name}: RABBITMQ_DEFAULT_USER is guest")
result("no-passwords", not problems, f"no password, credentials in a URL or guest user in {compose_label}", sorted(set(problems)))

# Every *_FILE variable and every /run/secrets/<name> a command reads is a secret the
# container has; every secret is a file in git-ignored deploy/compose/secrets/ with a
# committed <name>.example beside it; every service reads each password it needs from a
# file, and a service that calls others (AGORA_*_ADDR) has its signing key.
SECRETS_DIR = "deploy/compose/secrets"
declared = model_all.get("secrets") or {}
problems = []
for name, d in sorted(declared.items()):
    f = d.get("file")
    if not f:
        problems.append(f"secret {name} is not a file (external secrets need Swarm)")
        continue
    rel = os.path.relpath(f, root) if os.path.isabs(f) else os.path.normpath(f)
    if rel != f"{SECRETS_DIR}/{name}":
        problems.append(f"secret {name} is {rel}, not {SECRETS_DIR}/{name}")
        continue
    if subprocess.run(["git", "check-ignore", "-q", rel]).returncode != 0:
        problems.append(f"{rel} is not git-ignored (deploy/compose/.gitignore)")
    if not os.path.isfile(rel + ".example"):
        problems.append(f"{rel}.example is missing (the committed placeholder)")
    elif subprocess.run(["git", "check-ignore", "-q", rel + ".example"]).returncode == 0:
        problems.append(f"{rel}.example is git-ignored")
init_dir = next((src for src, dst in volumes(model.get("postgres", {})) if dst.rstrip("/") == "/docker-entrypoint-initdb.d"), None)
init_files = sorted(glob.glob(f"{init_dir}/*.sh") + glob.glob(f"{init_dir}/*.sql")) if init_dir else []
def reads_secrets(text):
    """The secrets a script or command reads (comment lines aside; not pg_${name}_...)."""
    code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    return set(re.findall(r"/run/secrets/([A-Za-z0-9_.-]+)(?![A-Za-z0-9_$<{])", code))
NEEDS = ["AGORA_DATABASE_PASSWORD_FILE", "AGORA_MIGRATION_DATABASE_PASSWORD_FILE", "AGORA_REDIS_PASSWORD_FILE", "AGORA_AMQP_PASSWORD_FILE"]
for name, s in sorted(model.items()):
    has = secrets_of(s)
    used = set()
    for k, v in env(s).items():
        if k.endswith("_FILE") and str(v).startswith("/run/secrets/"):
            used.add(str(v)[len("/run/secrets/"):])
        elif k.endswith("_FILE") and re.search(SECRETISH, k, re.I):
            problems.append(f"{name}: {k}={v} is not a Docker secret (/run/secrets/<name>)")
    used |= reads_secrets(command_text(s)) | reads_secrets(command_text(s, "healthcheck"))
    if name == "postgres":
        for f in init_files:
            used |= reads_secrets(read(f))
    for u in sorted(used - has):
        problems.append(f"{name} reads /run/secrets/{u} but does not list secret {u}")
    for u in sorted(used - set(declared)):
        problems.append(f"{name}: no top-level secret {u}")
    if name in built:
        e = env(s)
        problems += [f"{name} has no {k}" for k in NEEDS if k not in e]
        if name in callers and not str(e.get("AGORA_SERVICE_KEY_FILE", "")).startswith("/run/secrets/"):
            problems.append(f"{name} calls other services but has no AGORA_SERVICE_KEY_FILE secret to sign its service token with")
result("secrets", not problems, f"every password and key is a Docker secret the container lists, from git-ignored {SECRETS_DIR}/ with a committed .example", problems)

# Redis and RabbitMQ require credentials from those secrets, and the services use them.
problems = []
redis = model.get("redis", {})
m = re.search(r"--requirepass\s+\\?\"?\$\$?\(cat /run/secrets/([\w.-]+)\)", command_text(redis))
redis_secret = m.group(1) if m else None
if not redis_secret:
    problems.append("redis is started without --requirepass \"$(cat /run/secrets/<name>)\"")
elif f"/run/secrets/{redis_secret}" not in command_text(redis, "healthcheck"):
    problems.append("redis's healthcheck does not authenticate with the same secret (REDISCLI_AUTH)")
rabbit = model.get("rabbitmq", {})
rabbit_env = env(rabbit)
rabbit_user = rabbit_env.get("RABBITMQ_DEFAULT_USER")
m = re.search(r"RABBITMQ_DEFAULT_PASS=\\?\"?\$\$?\(cat /run/secrets/([\w.-]+)\)", command_text(rabbit))
rabbit_secret = m.group(1) if m else None
if not rabbit_user or rabbit_user == "guest":
    problems.append(f"rabbitmq's RABBITMQ_DEFAULT_USER is {rabbit_user or 'unset (guest)'}")
if not rabbit_secret or "RABBITMQ_DEFAULT_PASS" in rabbit_env:
    problems.append("rabbitmq's RABBITMQ_DEFAULT_PASS is not read from /run/secrets/<name> at start")
pg_env = env(model.get("postgres", {}))
if "POSTGRES_PASSWORD" in pg_env or not str(pg_env.get("POSTGRES_PASSWORD_FILE", "")).startswith("/run/secrets/"):
    problems.append("postgres does not take POSTGRES_PASSWORD_FILE from a secret")
for name, s in sorted(built.items()):
    e = env(s)
    if redis_secret and e.get("AGORA_REDIS_PASSWORD_FILE") != f"/run/secrets/{redis_secret}":
        problems.append(f"{name}: AGORA_REDIS_PASSWORD_FILE is not /run/secrets/{redis_secret}")
    if rabbit_secret and e.get("AGORA_AMQP_PASSWORD_FILE") != f"/run/secrets/{rabbit_secret}":
        problems.append(f"{name}: AGORA_AMQP_PASSWORD_FILE is not /run/secrets/{rabbit_secret}")
    if url_user(e.get("AGORA_AMQP_URL")) != rabbit_user:
        problems.append(f"{name}: AGORA_AMQP_URL's user is not {rabbit_user}")
result("broker-auth", not problems, f"Redis requires its password, RabbitMQ has user {rabbit_user}, PostgreSQL's superuser password is a secret; the services use the same secrets", problems)

# Database roles: each service connects as its own role, which may use only its own
# schema (services/<svc>/src/main.ts), and migrates as the one owner of all schemas,
# as deploy/compose/postgres-init/ grants them.
problems = []
sql = "\n".join(read(f) for f in init_files)
if not init_files:
    problems.append("postgres mounts no init script at /docker-entrypoint-initdb.d")
def names_list(x):
    return [n.strip().lower() for n in x.split(",") if n.strip()]
created = set(n.lower() for n in re.findall(r"(?im)^\s*CREATE ROLE (\w+)", sql))
schema_owner = {s.lower(): o.lower() for s, o in re.findall(r"(?im)^\s*CREATE SCHEMA (\w+) AUTHORIZATION (\w+)", sql)}
grants = {}  # role -> set of (schema, what, privileges)
def grant(roles, schemas, what, privs):
    for r in names_list(roles):
        for sch in names_list(schemas):
            grants.setdefault(r, set()).add((sch, what, frozenset(p.upper() for p in names_list(privs))))
for privs, schemas, roles in re.findall(r"(?im)^\s*GRANT ([\w ,]+?) ON SCHEMA ([\w ,]+?) TO ([\w ,]+?);", sql):
    grant(roles, schemas, "SCHEMA", privs)
for owner, schemas, privs, what, roles in re.findall(r"(?im)^\s*ALTER DEFAULT PRIVILEGES FOR ROLE (\w+) IN SCHEMA ([\w ,]+?) GRANT ([\w ,]+?) ON (TABLES|SEQUENCES|FUNCTIONS|ROUTINES|TYPES|SCHEMAS) TO ([\w ,]+?);", sql):
    grant(roles, schemas, "DEFAULT " + what.upper() + " FOR " + owner.lower(), privs)
for privs, what, schemas, roles in re.findall(r"(?im)^\s*GRANT ([\w ,]+?) ON ALL (TABLES|SEQUENCES|FUNCTIONS|ROUTINES) IN SCHEMA ([\w ,]+?) TO ([\w ,]+?);", sql):
    grant(roles, schemas, "ALL " + what.upper(), privs)
for privs, sch, roles in re.findall(r"(?im)^\s*GRANT ([\w ,]+?) ON (?:TABLE |SEQUENCE )?(\w+)\.\w+ TO ([\w ,]+?);", sql):
    grant(roles, sch, "OBJECT", privs)
schema_of = {}
for svc in services:
    main = open(f"services/{svc}/src/main.ts").read()
    m = re.search(r"openPersistence\(\s*\w+,\s*'(\w+)'", main) or re.search(r"schema:\s*'(\w+)'", main)
    if m:
        schema_of[svc] = m.group(1)
    else:
        problems.append(f"services/{svc}/src/main.ts: cannot find its schema name")
roles_of = {}
owners = set()
for name, s in sorted(built.items()):
    e, svc = env(s), runs.get(name)
    user, owner = url_user(e.get("AGORA_DATABASE_URL")), url_user(e.get("AGORA_MIGRATION_DATABASE_URL"))
    if not user or not owner:
        problems.append(f"{name}: AGORA_DATABASE_URL or AGORA_MIGRATION_DATABASE_URL has no user")
        continue
    roles_of.setdefault(svc, set()).add(user.lower())
    owners.add(owner.lower())
if len(owners) != 1:
    problems.append(f"the services migrate as different roles: {sorted(owners)}")
owner = next(iter(owners), "?")
if owner not in created:
    problems.append(f"the init script does not create the owner role {owner}")
for svc, rs in sorted(roles_of.items()):
    if len(rs) != 1:
        problems.append(f"{svc}'s replicas connect as different roles {sorted(rs)}")
        continue
    role, schema = next(iter(rs)), schema_of.get(svc)
    others = [o for o, r in roles_of.items() if o != svc and r == rs]
    if others:
        problems.append(f"{svc} shares role {role} with {others}")
    if role == owner:
        problems.append(f"{svc} runs its queries as the owner {owner}")
    if role not in created:
        problems.append(f"the init script does not create role {role} ({svc})")
    if schema is None:
        continue
    if schema_owner.get(schema) != owner:
        problems.append(f"schema {schema} is not created AUTHORIZATION {owner}")
    g = grants.get(role, set())
    for sch, what, privs in sorted(g, key=str):
        if sch != schema:
            on = f"schema {sch}" if what == "SCHEMA" else f"{what.lower()} in schema {sch}"
            problems.append(f"{role} ({svc}) is granted {','.join(sorted(privs))} on {on}, not only on its own schema {schema}")
    mine = {(what, privs) for sch, what, privs in g if sch == schema}
    if ("SCHEMA", frozenset({"USAGE"})) not in mine or any(w == "SCHEMA" and p != {"USAGE"} for w, p in mine):
        problems.append(f"{role} needs USAGE (only) on schema {schema}")
    tables = [p for w, p in mine if w == f"DEFAULT TABLES FOR {owner}"]
    if tables != [frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})]:
        problems.append(f"{role}: ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} must GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES (has {[sorted(t) for t in tables]})")
    seqs = [p for w, p in mine if w == f"DEFAULT SEQUENCES FOR {owner}"]
    if len(seqs) != 1 or "USAGE" not in seqs[0] or not seqs[0] <= {"USAGE", "SELECT"}:
        problems.append(f"{role}: ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} must GRANT USAGE ON SEQUENCES")
result("db-roles", not problems and roles_of, f"each service queries as its own role limited to its schema ({', '.join(f'{svc}: {next(iter(r))} -> {schema_of.get(svc)}' for svc, r in sorted(roles_of.items()))}), and migrates as {owner}", problems)

# Envoy and the services verify tokens alike: the JWKS Envoy reads is mounted into
# Envoy, and each service's AGORA_AUTH_JWKS_FILE comes from the same host file.
jwt_cfgs = typed(envoy, "JwtAuthentication")
providers = {n: p for c in jwt_cfgs for n, p in (c.get("providers") or {}).items()}
problems = []
jwks_src = set()
for n, p in sorted(providers.items()):
    f = (p.get("local_jwks") or {}).get("filename")
    if not f:
        continue
    src = mounted(envoy_svc, f)
    if not src:
        problems.append(f"jwt_authn provider {n} reads {f}, which no envoy volume mounts")
    else:
        jwks_src.add(src)
if not providers:
    problems.append("envoy.yaml has no jwt_authn provider")
for name, s in sorted(built.items()):
    f = env(s).get("AGORA_AUTH_JWKS_FILE")
    src = mounted(s, f) if f else None
    if not f:
        problems.append(f"{name} has no AGORA_AUTH_JWKS_FILE")
    elif not src:
        problems.append(f"{name}: AGORA_AUTH_JWKS_FILE={f} is not mounted")
    elif jwks_src and src not in jwks_src:
        problems.append(f"{name} verifies against {src}, Envoy against {sorted(jwks_src)}")
result("jwks-mounted", not problems, f"the JWKS of Envoy's jwt_authn is mounted into Envoy and every service from {', '.join(sorted(jwks_src)) or '?'}", problems)

# Issuer, audience, roles claim and browser origins agree; production settings.
problems = []
issuers = {p.get("issuer") for p in providers.values()}
audiences = {a for p in providers.values() for a in p.get("audiences") or []}
claim_paths = set()
for d in walk(typed(envoy, "rbac.v3.RBAC")):
    if d.get("filter") == "envoy.filters.http.jwt_authn" and isinstance(d.get("path"), list):
        keys = [seg.get("key") for seg in d["path"]]
        claim_paths.add(".".join(keys[1:]))
origins = set()
for pol in typed(envoy, "cors.v3.CorsPolicy"):
    for m in pol.get("allow_origin_string_match") or []:
        origins.add(m.get("exact", f"<non-exact {m}>"))
for name, s in sorted(built.items()):
    e = env(s)
    if e.get("AGORA_AUTH_ISSUER") not in issuers:
        problems.append(f"{name}: AGORA_AUTH_ISSUER={e.get('AGORA_AUTH_ISSUER')}, Envoy accepts {sorted(map(str, issuers))}")
    if e.get("AGORA_AUTH_AUDIENCE", "agora") not in audiences:
        problems.append(f"{name}: AGORA_AUTH_AUDIENCE={e.get('AGORA_AUTH_AUDIENCE', 'agora')}, Envoy's audiences {sorted(audiences)}")
    claim = e.get("AGORA_AUTH_ROLES_CLAIM", "roles")
    if claim_paths != {claim}:
        problems.append(f"{name} reads roles from {claim}, Envoy's rbac from {sorted(claim_paths)}")
    mine = {o.strip() for o in str(e.get("AGORA_CORS_ORIGINS", "")).split(",") if o.strip()}
    if mine != origins:
        problems.append(f"{name}: AGORA_CORS_ORIGINS {sorted(mine)}, Envoy's CORS allow-list {sorted(origins)}")
    if str(e.get("AGORA_AUTH", "on")).lower() != "on":
        problems.append(f"{name}: AGORA_AUTH={e.get('AGORA_AUTH')}")
    want_env = "production"
    if runs.get(name) == "payment" and e.get("AGORA_PAYMENT_PROVIDER") == "sandbox":
        want_env = "staging"  # the sandbox provider refuses production
    if e.get("AGORA_ENV") != want_env:
        problems.append(f"{name}: AGORA_ENV={e.get('AGORA_ENV')}, want {want_env}")
result("auth-config", not problems, f"issuer {sorted(map(str, issuers))}, audience, roles claim and CORS origins {sorted(origins)} agree between Envoy and the services; AGORA_ENV production (Payment staging with the sandbox provider)", problems)

# The access table Envoy enforces (check-deploy.sh's ADMIN_RPCS, SAGA_RPCS) is the
# services' own: their 'admin' and 'saga' rows, and they list every RPC of proto/.
problems = []
table_file = "services/common/auth/access_table.ts"
def expand(patterns):
    out = set()
    for p in patterns:
        hit = {r for r in rpcs if r == p or (p.endswith("/*") and r.startswith(p[:-1]))}
        if not hit:
            problems.append(f"check-deploy.sh names {p}, which is no RPC of proto/")
        out |= hit
    return out
want = {"admin": expand(admin_rpcs), "saga": expand(saga_rpcs)}
try:
    table = dict(re.findall(r"'([\w.]+/\w+)':\s*'(\w+)'", read(table_file)))
except FileNotFoundError:
    table = None
    problems.append(f"{table_file} not found")
if table is not None:
    for cls, rows in want.items():
        have = {r for r, c in table.items() if c == cls}
        for r in sorted(rows - have):
            problems.append(f"Envoy treats {r} as {cls}, {table_file} as {table.get(r, 'missing')}")
        for r in sorted(have - rows):
            problems.append(f"{table_file} makes {r} {cls}, Envoy does not")
    for r in sorted(set(rpcs) - set(table)):
        problems.append(f"{r} is missing from {table_file} (the services refuse it)")
    for r in sorted(set(table) - set(rpcs)):
        problems.append(f"{table_file} lists {r}, which is no RPC of proto/")
result("access-table", not problems, f"Envoy's admin ({len(want['admin'])}) and saga ({len(want['saga'])}) RPCs are the services' own ({table_file})", problems)
PY

# run_cross MODEL COMPOSE-FILE: the cross-checks, on a resolved model and the file it
# came from.
run_cross() {
  AGORA_ACCESS_ADMIN=$(join_by_comma "${ADMIN_RPCS[@]}") AGORA_ACCESS_SAGA=$(join_by_comma "${SAGA_RPCS[@]}") \
    python3 -c "$CROSS_PY" "$1" "$2" "$COMPOSE_FILE" "$ENVOY_YAML" "$DOCKERFILE" "${SERVICES[@]}"
}

check_cross() {
  step "cross-checks: compose, Envoy, Dockerfile, deploy/compose/, services/, proto/"
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
  local status id what problems
  while IFS=$'\t' read -r status id what problems; do
    case $status in
      PASS) pass "$what" ;;
      FAIL) fail "$what: $problems" ;;
      *) echo "$status${id:+ $id}${what:+ $what}${problems:+ $problems}" ;;
    esac
  done < <(run_cross "$model" "$COMPOSE_FILE")
  rm -f "$model"
}

# --- 6. self-test of the cross-checks ---------------------------------------------------

# cross_mutant NAME CHECK-ID FILE SED-SCRIPT: with a copy of FILE (docker-compose.yml,
# or a file the cross-checks read) with one deliberate mistake, the cross-check
# CHECK-ID must FAIL. A compose copy is resolved with the repo as project directory, as
# the real file is.
cross_mutant() {
  local name=$1 id=$2 file=$3 script=$4
  local copy="$SELFTEST_DIR/$name.$(basename "$file")" model="$SELFTEST_DIR/$name.model.yml"
  sed -e "$script" "$file" >"$copy"
  if cmp -s "$copy" "$file"; then
    fail "self-test '$name': the mutation no longer applies to $file"
    return
  fi
  local compose=$COMPOSE_FILE overrides='{}'
  if [[ $file == "$COMPOSE_FILE" ]]; then
    compose=$copy
  else
    overrides=$(python3 -c 'import json, sys; print(json.dumps({sys.argv[1]: sys.argv[2]}))' "$file" "$copy")
  fi
  if ! docker-compose --project-directory "$ROOT" -f "$compose" config >"$model" 2>"$model.err"; then
    fail "self-test '$name': docker-compose config rejected the broken copy itself: $(head -n1 "$model.err")"
    return
  fi
  local out line
  out=$(AGORA_CROSS_OVERRIDES=$overrides run_cross "$model" "$compose")
  line=$(grep -m1 "^FAIL"$'\t'"$id"$'\t' <<<"$out" || true)
  if [[ -z $line ]]; then
    fail "self-test '$name': cross-check $id accepted a broken $file"
  else
    echo "  $name: $id fails as expected: $(cut -f4 <<<"$line" | cut -c1-180)"
  fi
}

check_cross_reject() {
  step "self-test: broken copies of $COMPOSE_FILE and deploy/compose/ must fail the cross-checks"
  if ! command -v docker-compose >/dev/null 2>&1 || ! python3 -c 'import yaml' 2>/dev/null; then
    fail "cross-check self-test skipped: need docker-compose and python3-yaml"
    return
  fi
  local before=$failures
  SELFTEST_DIR=$(mktemp -d)
  trap 'rm -rf "$SELFTEST_DIR"' EXIT
  local init=deploy/compose/postgres-init/10-agora-roles.sh
  cross_mutant password-literal no-passwords "$COMPOSE_FILE" 's/^\( *\)POSTGRES_DB: agora$/&\n\1POSTGRES_PASSWORD: agora/'
  cross_mutant password-in-url no-passwords "$COMPOSE_FILE" 's|amqp://agora@rabbitmq|amqp://agora:agora@rabbitmq|'
  cross_mutant guest-user no-passwords "$COMPOSE_FILE" 's|amqp://agora@rabbitmq|amqp://guest:guest@rabbitmq|'
  cross_mutant secret-not-listed secrets "$COMPOSE_FILE" '/^      - order_service_key$/d'
  cross_mutant secret-outside-dir secrets "$COMPOSE_FILE" 's|{file: ./deploy/compose/secrets/redis_password}|{file: ./redis_password.txt}|'
  cross_mutant redis-no-password broker-auth "$COMPOSE_FILE" 's/ --requirepass \\"$$(cat \/run\/secrets\/redis_password)\\"//'
  cross_mutant rabbitmq-guest-user broker-auth "$COMPOSE_FILE" 's/^      RABBITMQ_DEFAULT_USER: agora$/      RABBITMQ_DEFAULT_USER: guest/'
  cross_mutant db-role-of-another-service db-roles "$COMPOSE_FILE" 's|postgres://agora_payment@|postgres://agora_inventory@|'
  cross_mutant db-queries-as-owner db-roles "$COMPOSE_FILE" 's|postgres://agora_report@|postgres://agora_owner@|'
  cross_mutant db-grant-on-other-schema db-roles "$init" 's/^GRANT USAGE ON SCHEMA payment TO agora_payment;/GRANT USAGE ON SCHEMA payment, ordering TO agora_payment;/'
  cross_mutant db-create-on-schema db-roles "$init" 's/^GRANT USAGE ON SCHEMA pricing TO agora_pricing;/GRANT USAGE, CREATE ON SCHEMA pricing TO agora_pricing;/'
  cross_mutant db-no-default-privileges db-roles "$init" '/IN SCHEMA inventory GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES/d'
  cross_mutant jwks-not-mounted-in-envoy jwks-mounted "$COMPOSE_FILE" '/^      - .\/deploy\/compose\/auth:\/etc\/agora\/auth:ro$/d'
  cross_mutant issuer-mismatch auth-config "$COMPOSE_FILE" 's|AGORA_AUTH_ISSUER: agora-dev|AGORA_AUTH_ISSUER: https://idp.example.com/|'
  cross_mutant cors-origins-mismatch auth-config "$COMPOSE_FILE" 's|AGORA_CORS_ORIGINS: http://localhost:5173|AGORA_CORS_ORIGINS: http://localhost:3000|'
  cross_mutant not-production auth-config "$COMPOSE_FILE" 's/^  AGORA_ENV: production$/  AGORA_ENV: development/'
  cross_mutant access-table-drift access-table services/common/auth/access_table.ts "s|'agora.pricing.v1.PricingService/SetBasePrice': 'admin'|'agora.pricing.v1.PricingService/SetBasePrice': 'catalogue'|"
  rm -rf "$SELFTEST_DIR"
  if ((failures == before)); then
    pass "the cross-checks reject broken copies (password literal, in a URL, guest user; secret not listed, outside deploy/compose/secrets/; Redis without password, RabbitMQ as guest; another service's or the owner's database role, grant on another schema, CREATE, no default privileges; JWKS not mounted in Envoy; issuer, CORS origins or AGORA_ENV wrong; access table differing from the services')"
  fi
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
  check_cross_reject

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
