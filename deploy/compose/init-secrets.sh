#!/usr/bin/env bash
# Creates what docker-compose.yml needs but git does not hold, leaving existing files
# alone (deploy/compose/README.md):
#   secrets/<name>_password    random passwords for PostgreSQL (superuser, agora_owner,
#                              one role per service), Redis and RabbitMQ;
#   auth/jwks.json             the token issuer's public keys, and
#   secrets/order_service_key  the Order service's private signing key (a JWK, kid
#                              agora-service-order; its public half is in the JWKS):
#                              both copied from the development issuer in .agora/auth
#                              (created by `npm start` or `npm run token`) when they are
#                              there. With a real identity provider, put its JWKS in
#                              auth/jwks.json and add Order's public key to it.
# Exit status 0 when everything is in place, 1 when something must still be provided.
#
# Usage: deploy/compose/init-secrets.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)
PASSWORDS=(postgres_password pg_owner_password pg_order_password pg_payment_password
  pg_inventory_password pg_pricing_password pg_report_password redis_password amqp_password)

mkdir -p secrets auth
# Compose bind-mounts each secret file as it is: the containers read them as their own
# users (postgres, redis, node, ...), so the files are 0644 and the directory 0700.
chmod 700 secrets

for name in "${PASSWORDS[@]}"; do
  file=secrets/$name
  if [[ -s $file ]]; then
    echo "kept     deploy/compose/$file"
    continue
  fi
  # 32 random bytes as hex: nothing that needs quoting in a URL, a shell or SQL.
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file.tmp")
  chmod 644 "$file.tmp"
  mv "$file.tmp" "$file"
  echo "created  deploy/compose/$file"
done

missing=()
# copy_from_dev_issuer TARGET SOURCE WHAT: TARGET kept if present, else copied from the
# development issuer's SOURCE, else reported missing.
copy_from_dev_issuer() {
  local target=$1 source=$ROOT/.agora/auth/$2 what=$3
  if [[ -s $target ]]; then
    echo "kept     deploy/compose/$target"
  elif [[ -s $source ]]; then
    install -m 0644 "$source" "$target"
    echo "copied   .agora/auth/$2 to deploy/compose/$target"
  else
    missing+=("deploy/compose/$target: $what (run \`npm run token -- --role admin\` once to create the development issuer in .agora/auth, then this script again)")
  fi
}
copy_from_dev_issuer auth/jwks.json jwks.json "the issuer's public keys (or your identity provider's JWKS plus Order's public key)"
copy_from_dev_issuer secrets/order_service_key service-order.private.jwk.json "the Order service's private JWK, kid agora-service-order"

# Files put here by hand (the Order key) must be readable in the containers too.
find secrets -maxdepth 1 -type f ! -name '*.example' ! -perm -0444 -exec chmod 644 {} +

if ((${#missing[@]} > 0)); then
  echo "still missing:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "all secrets in place: docker compose up --build -d"
