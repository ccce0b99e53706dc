#!/usr/bin/env bash
# What `npm test` needs beyond node_modules, made ready before the first test runs, so a
# fresh machine needs no command of its own: HAProxy (the rolling-deploy test; a Debian
# package) and Jaeger (the tracing test; built from the Go module proxy once per machine,
# about 8 minutes on 2 cores, then skipped). Both scripts say what to install when they
# cannot, and the tests fail rather than skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/ensure_haproxy.sh
bash deploy/tools/build-tools.sh jaeger
