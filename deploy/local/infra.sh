#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer on their local ports, starting the ones
# that are installed but down, and saying what to install when one is missing; then
# sets up the database roles the services run as (see the end).
# Used by `npm start`, `npm test` and .ci/run, so all three find the same machine.
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds
  for _ in $(seq 1 "$3"); do listening "$2" && return 0; sleep 1; done
  echo "infra: $1 did not come up on 127.0.0.1:$2 within $3 s" >&2
  return 1
}

if ! listening 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "infra: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    wait_port PostgreSQL 5432 30
  else
    echo "infra: PostgreSQL is not installed. Install it: apt-get install postgresql (15 or newer)" >&2
    exit 1
  fi
fi

if ! listening 6379; then
  if command -v redis-server >/dev/null; then
    echo "infra: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_port Redis 6379 15
  else
    echo "infra: Redis is not installed. Install it: apt-get install redis-server (7 or newer)" >&2
    exit 1
  fi
fi

if ! listening 5672; then
  if command -v rabbitmq-server >/dev/null; then
    echo "infra: starting RabbitMQ (this takes a few seconds)"
    rabbitmq-server -detached
    wait_port RabbitMQ 5672 90
  else
    echo "infra: RabbitMQ is not installed. Install it: apt-get install rabbitmq-server" >&2
    exit 1
  fi
fi

# The database roles, as in the containers (deploy/compose/postgres-init/): agora_owner
# owns the five schemas and runs the migrations, agora_order … agora_report each read
# and write their own schema only; the launchers start every service as its role
# (service_process.ts's databaseEnvFor). services/common/db/service_roles.sql creates
# the roles and fixes up a database made before they existed (objects created by
# postgres go to agora_owner). It is idempotent: cheap on every start. Test databases
# get the same from services/common/testing/isolation.ts.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if ! command -v psql >/dev/null; then
  echo "infra: psql is not installed (needed to set up the database roles). Install it: apt-get install postgresql-client" >&2
  exit 1
fi
admin=${AGORA_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}
# The database `npm start` uses: the services' AGORA_DATABASE_URL (default agora).
database=${AGORA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/agora}
database=${database%%\?*}
database=${database##*/}
if [[ ! $database =~ ^[A-Za-z0-9_]+$ ]]; then
  echo "infra: cannot prepare database \"$database\" (from AGORA_DATABASE_URL): only letters, digits and _ here" >&2
  exit 1
fi
if [[ -z $(psql "$admin" -X -qtA -c "select 1 from pg_database where datname = '$database'") ]]; then
  echo "infra: creating database $database"
  psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "create database \"$database\""
fi
psql "${admin%/*}/$database" -X -q -v ON_ERROR_STOP=1 -f "$root/services/common/db/service_roles.sql"
