#!/bin/bash
# PostgreSQL roles and schemas for Agora in docker-compose.yml. The postgres image runs
# this once, as its superuser, when the data volume is empty (/docker-entrypoint-initdb.d).
#
#   agora_owner      owns the five schemas and everything in them; the services connect
#                    as it only to run their migrations (AGORA_MIGRATION_DATABASE_URL).
#   agora_order      \
#   agora_payment     |  one login role per service (AGORA_DATABASE_URL): USAGE on its own
#   agora_inventory   |  schema, SELECT/INSERT/UPDATE/DELETE on its tables and USAGE on its
#   agora_pricing     |  sequences (granted ahead by ALTER DEFAULT PRIVILEGES, so tables the
#   agora_report     /   migrations create later are covered), nothing on the other
#                        schemas, and no CREATE anywhere: it cannot change the schema.
#
# The service -> schema names are those of services/<svc>/src/main.ts (Order's is
# `ordering`); deploy/tools/check-deploy.sh parses the statements below and checks them
# against that, and against the roles docker-compose.yml's URLs use: keep one statement
# per line, the names unquoted.
#
# Passwords come from the Docker secrets at /run/secrets/pg_<role>_password, read by psql
# itself (\set with backticks), so they never appear in a command line or in this file.
set -euo pipefail

for name in owner order payment inventory pricing report; do
  if [[ ! -s /run/secrets/pg_${name}_password ]]; then
    echo "postgres-init: /run/secrets/pg_${name}_password is missing or empty: run deploy/compose/init-secrets.sh" >&2
    exit 1
  fi
done

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set owner_password `cat /run/secrets/pg_owner_password`
\set order_password `cat /run/secrets/pg_order_password`
\set payment_password `cat /run/secrets/pg_payment_password`
\set inventory_password `cat /run/secrets/pg_inventory_password`
\set pricing_password `cat /run/secrets/pg_pricing_password`
\set report_password `cat /run/secrets/pg_report_password`

BEGIN;

-- Nobody connects or creates temporary tables by default; each role gets CONNECT below.
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE ROLE agora_owner LOGIN PASSWORD :'owner_password';
-- CREATE on the database: the services run `create schema if not exists` before migrating.
GRANT CONNECT, CREATE ON DATABASE :"DBNAME" TO agora_owner;

CREATE ROLE agora_order LOGIN PASSWORD :'order_password';
CREATE ROLE agora_payment LOGIN PASSWORD :'payment_password';
CREATE ROLE agora_inventory LOGIN PASSWORD :'inventory_password';
CREATE ROLE agora_pricing LOGIN PASSWORD :'pricing_password';
CREATE ROLE agora_report LOGIN PASSWORD :'report_password';
GRANT CONNECT ON DATABASE :"DBNAME" TO agora_order, agora_payment, agora_inventory, agora_pricing, agora_report;

-- Order
CREATE SCHEMA ordering AUTHORIZATION agora_owner;
GRANT USAGE ON SCHEMA ordering TO agora_order;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA ordering GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO agora_order;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA ordering GRANT USAGE ON SEQUENCES TO agora_order;

-- Payment
CREATE SCHEMA payment AUTHORIZATION agora_owner;
GRANT USAGE ON SCHEMA payment TO agora_payment;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA payment GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO agora_payment;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA payment GRANT USAGE ON SEQUENCES TO agora_payment;

-- Inventory
CREATE SCHEMA inventory AUTHORIZATION agora_owner;
GRANT USAGE ON SCHEMA inventory TO agora_inventory;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA inventory GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO agora_inventory;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA inventory GRANT USAGE ON SEQUENCES TO agora_inventory;

-- Pricing
CREATE SCHEMA pricing AUTHORIZATION agora_owner;
GRANT USAGE ON SCHEMA pricing TO agora_pricing;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA pricing GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO agora_pricing;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA pricing GRANT USAGE ON SEQUENCES TO agora_pricing;

-- Report
CREATE SCHEMA report AUTHORIZATION agora_owner;
GRANT USAGE ON SCHEMA report TO agora_report;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA report GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO agora_report;
ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA report GRANT USAGE ON SEQUENCES TO agora_report;

COMMIT;
SQL

echo "postgres-init: created agora_owner, agora_order, agora_payment, agora_inventory, agora_pricing, agora_report and their schemas"
