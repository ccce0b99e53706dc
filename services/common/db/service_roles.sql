-- Agora's PostgreSQL roles on a local database, as deploy/compose/postgres-init/
-- 10-agora-roles.sh sets them up in the containers (keep the two in step):
--
--   agora_owner      owns the five schemas and everything in them; the services connect
--                    as it only to run their migrations (AGORA_MIGRATION_DATABASE_URL).
--   agora_order      \
--   agora_payment     |  one login role per service (AGORA_DATABASE_URL): USAGE on its
--   agora_inventory   |  own schema, SELECT/INSERT/UPDATE/DELETE on its tables and USAGE
--   agora_pricing     |  on its sequences, present and future (ALTER DEFAULT PRIVILEGES
--   agora_report     /   FOR ROLE agora_owner), nothing on the other schemas, no CREATE.
--
-- Run as a superuser, connected to the database to prepare: deploy/local/infra.sh runs
-- it (psql -f) on `agora` before `npm start` and `npm test`, services/common/testing/
-- isolation.ts on every test database it creates. Idempotent, and it repairs: schemas
-- and objects that another role created earlier (`postgres`, before the roles existed)
-- are given to agora_owner, and grants the roles should not have are taken back.
-- Plain SQL and DO blocks only (no psql commands), so both can run it.
--
-- Locally PostgreSQL trusts 127.0.0.1: the roles have no password. The containers set
-- them from Docker secrets.

-- Roles belong to the cluster, not the database: created once, then only checked. A
-- concurrent run (two test databases prepared at once) may create one first.
DO $roles$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['agora_owner', 'agora_order', 'agora_payment',
                           'agora_inventory', 'agora_pricing', 'agora_report'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I LOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', r);
  END LOOP;
END
$roles$;

DO $database$
DECLARE
  db text := current_database();
  s record;
  other record;
  obj record;
BEGIN
  -- Nobody connects or creates temporary tables by default; each role gets CONNECT.
  -- CREATE on the database for the owner: the services run `create schema if not
  -- exists` before migrating.
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', db);
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO agora_owner', db);
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO agora_order, agora_payment, '
                 'agora_inventory, agora_pricing, agora_report', db);
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;

  -- Service -> schema, as in services/<svc>/src/main.ts (Order's is `ordering`) and
  -- SERVICE_SCHEMAS in service_roles.ts (a unit test checks they agree).
  FOR s IN SELECT * FROM (VALUES
      ('ordering', 'agora_order'),
      ('payment', 'agora_payment'),
      ('inventory', 'agora_inventory'),
      ('pricing', 'agora_pricing'),
      ('report', 'agora_report')) AS t(schema_name, role_name)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s.schema_name) THEN
      EXECUTE format('CREATE SCHEMA %I AUTHORIZATION agora_owner', s.schema_name);
    END IF;
    EXECUTE format('ALTER SCHEMA %I OWNER TO agora_owner', s.schema_name);

    -- What another role created there goes to the owner. Tables first: their indexes
    -- and the sequences of their serial columns follow them (and cannot be moved on
    -- their own); then what is left.
    FOR obj IN
      SELECT c.oid::regclass AS name, c.relkind
        FROM pg_class c
       WHERE c.relnamespace = s.schema_name::regnamespace
         AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
         AND c.relowner <> 'agora_owner'::regrole
    LOOP
      EXECUTE format('ALTER %s %s OWNER TO agora_owner',
                     CASE obj.relkind
                       WHEN 'v' THEN 'VIEW'
                       WHEN 'm' THEN 'MATERIALIZED VIEW'
                       WHEN 'f' THEN 'FOREIGN TABLE'
                       ELSE 'TABLE' END,
                     obj.name);
    END LOOP;
    FOR obj IN
      SELECT c.oid::regclass AS name
        FROM pg_class c
       WHERE c.relnamespace = s.schema_name::regnamespace
         AND c.relkind = 'S'
         AND c.relowner <> 'agora_owner'::regrole
    LOOP
      EXECUTE format('ALTER SEQUENCE %s OWNER TO agora_owner', obj.name);
    END LOOP;
    FOR obj IN
      SELECT p.oid::regprocedure AS name
        FROM pg_proc p
       WHERE p.pronamespace = s.schema_name::regnamespace
         AND p.proowner <> 'agora_owner'::regrole
    LOOP
      EXECUTE format('ALTER ROUTINE %s OWNER TO agora_owner', obj.name);
    END LOOP;
    FOR obj IN
      SELECT t.oid::regtype AS name
        FROM pg_type t
       WHERE t.typnamespace = s.schema_name::regnamespace
         AND t.typtype IN ('e', 'd', 'r', 'm')
         AND t.typowner <> 'agora_owner'::regrole
    LOOP
      EXECUTE format('ALTER TYPE %s OWNER TO agora_owner', obj.name);
    END LOOP;

    -- The service's role: its own schema's tables and sequences, present and future.
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s.schema_name, s.role_name);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', s.schema_name, s.role_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA %I '
                   'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
                   s.schema_name, s.role_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA %I '
                   'GRANT USAGE ON SEQUENCES TO %I', s.schema_name, s.role_name);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I',
                   s.schema_name, s.role_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                   s.schema_name, s.role_name);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I',
                   s.schema_name, s.role_name);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO %I',
                   s.schema_name, s.role_name);

    -- And nothing on the others' schemas.
    FOR other IN SELECT * FROM (VALUES
        ('ordering'), ('payment'), ('inventory'), ('pricing'), ('report')) AS o(schema_name)
      WHERE o.schema_name <> s.schema_name
        AND EXISTS (SELECT FROM pg_namespace WHERE nspname = o.schema_name)
    LOOP
      EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', other.schema_name, s.role_name);
      EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I',
                     other.schema_name, s.role_name);
      EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I',
                     other.schema_name, s.role_name);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA %I '
                     'REVOKE ALL ON TABLES FROM %I', other.schema_name, s.role_name);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE agora_owner IN SCHEMA %I '
                     'REVOKE ALL ON SEQUENCES FROM %I', other.schema_name, s.role_name);
    END LOOP;
  END LOOP;
END
$database$;
