#!/usr/bin/env bash
# Fails when gen/ (or the vendored validate.proto) is not what the protos and pinned
# plugins produce now: someone edited a .proto without running `npm run generate`, or
# edited generated code by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node deploy/tools/write-validate-proto.ts "$tmp/proto" >/dev/null
if ! diff -u proto/buf/validate/validate.proto "$tmp/proto/buf/validate/validate.proto"; then
  echo "check-gen: proto/buf/validate/validate.proto is stale: run npm run generate" >&2
  exit 1
fi
buf generate --output "$tmp"
if ! diff -ru gen "$tmp/gen"; then
  echo "check-gen: gen/ is stale: run npm run generate and commit the result" >&2
  exit 1
fi
echo "check-gen: gen/ matches the protos"
