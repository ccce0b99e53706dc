/**
 * The PostgreSQL roles of Agora (service_roles.sql creates them on a local database,
 * deploy/compose/postgres-init/ in the containers): one owner that runs every
 * service's migrations, and one role per service that reads and writes its own schema
 * only.
 */
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import type pg from 'pg';
import type {ServiceName} from '../config/service_config.js';

/** Owns the five schemas and runs the migrations (AGORA_MIGRATION_DATABASE_URL). */
export const OWNER_ROLE = 'agora_owner';

/** The schema each service owns (Order's is `ordering`: `order` is a keyword). */
export const SERVICE_SCHEMAS: Readonly<Record<ServiceName, string>> = {
  order: 'ordering',
  payment: 'payment',
  inventory: 'inventory',
  pricing: 'pricing',
  report: 'report',
};

/** The role `service` runs its queries as (AGORA_DATABASE_URL), e.g. agora_order. */
export function serviceRole(service: ServiceName): string {
  return `agora_${service}`;
}

/**
 * service_roles.sql's text. It stays beside this file's source (tsc copies no .sql to
 * dist/), so it is found from the repository root, in src and in dist alike.
 */
export function serviceRolesSql(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'services', 'common', 'db', 'service_roles.sql');
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      const parent = dirname(dir);
      if (parent === dir || (err as {code?: string}).code !== 'ENOENT') {
        throw new Error(
          'services/common/db/service_roles.sql was not found above ' +
            fileURLToPath(import.meta.url),
          {cause: err},
        );
      }
      dir = parent;
    }
  }
}

/**
 * Creates the roles (once per server) and gives the database `client` is connected to
 * the five schemas, owned by agora_owner, with each service role's grants. `client`
 * must be a superuser's (it creates roles and sets default privileges for another).
 */
export async function applyServiceRoles(client: pg.ClientBase): Promise<void> {
  await client.query(serviceRolesSql());
}
