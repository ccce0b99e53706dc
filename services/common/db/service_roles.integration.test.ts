/**
 * Integration: the roles of service_roles.sql on the real PostgreSQL (AGORA_TEST_PG,
 * default postgres://postgres@127.0.0.1:5432/postgres), in a database of its own. A
 * service migrates as agora_owner and then runs as its own role, which reads and writes
 * its own schema, and is refused everything else: another service's schema, CREATE in
 * its own, schema changes, temporary tables. A schema that `postgres` made before the
 * roles existed (an old local `agora` database) is handed over to the owner.
 */
import {Migration} from '@mikro-orm/migrations';
import pg from 'pg';
import {createLogger} from '../log/logger.js';
import {ADMIN_PG} from '../testing/isolation.js';
import {openDatabase, type Database} from './database.js';
import {applyServiceRoles, OWNER_ROLE, serviceRole} from './service_roles.js';

const DATABASE = 'agora_test_service_roles';
const log = createLogger('service-roles-test', 'error');

/** `role` connected to the test database, no password (trust auth locally). */
function urlAs(role: string): string {
  const url = new URL(ADMIN_PG);
  url.username = role;
  url.password = '';
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

const superuser = (() => {
  const url = new URL(ADMIN_PG);
  url.pathname = `/${DATABASE}`;
  return url.toString();
})();

class CreateItem extends Migration {
  override up(): void {
    // Both kinds of sequence the services use: bigserial (outbox) and identity.
    this.addSql(`create table item (
      id bigserial primary key,
      seq bigint generated always as identity,
      name text not null)`);
  }
}
const MIGRATIONS = [{name: '0001_item', class: CreateItem}];

/** Opens `schema` as a service does: migrated as the owner, queried as `role`. */
function openAs(role: string, schema: string): Promise<Database> {
  return openDatabase({
    url: {runtime: urlAs(role), migration: urlAs(OWNER_ROLE)},
    schema,
    migrations: MIGRATIONS,
    poolSize: 2,
    log,
  });
}

/** Runs `sql` on a fresh connection as the superuser. */
async function asSuperuser<T = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({connectionString: superuser});
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

// Set up at load time: a database that cannot be prepared fails the suite once.
const admin = new pg.Client({connectionString: ADMIN_PG});
await admin.connect();
await admin.query(`drop database if exists "${DATABASE}" with (force)`);
await admin.query(`create database "${DATABASE}"`);
await admin.end();
// What an old local `agora` holds: a schema and tables made by postgres before the
// roles existed, with data.
await asSuperuser(`
  create schema pricing;
  create table pricing.legacy (id bigserial primary key, name text not null);
  insert into pricing.legacy (name) values ('before the roles');
`);
{
  const client = new pg.Client({connectionString: superuser});
  await client.connect();
  await applyServiceRoles(client);
  // Twice: it is run on every `npm start` and must change nothing the second time.
  await applyServiceRoles(client);
  await client.end();
}
const payment = await openAs(serviceRole('payment'), 'payment');
const ordering = await openAs(serviceRole('order'), 'ordering');
const pricing = await openAs(serviceRole('pricing'), 'pricing');

afterAll(async () => {
  await Promise.all([payment.close(), ordering.close(), pricing.close()]);
  const client = new pg.Client({connectionString: ADMIN_PG});
  await client.connect();
  await client.query(`drop database if exists "${DATABASE}" with (force)`);
  await client.end();
});

const denied = (message: RegExp) =>
  expect.objectContaining({
    code: '42501',
    message: expect.stringMatching(message),
  });

describe('service roles (service_roles.sql)', () => {
  it('migrates as agora_owner: the schema, its tables and sequences belong to it', async () => {
    const owners = await asSuperuser<{name: string; owner: string}>(
      `select n.nspname as name, pg_get_userbyid(n.nspowner) as owner
         from pg_namespace n where n.nspname = 'payment'
       union all
       select c.relname, pg_get_userbyid(c.relowner)
         from pg_class c where c.relnamespace = 'payment'::regnamespace
          and c.relkind in ('r', 'S')
       order by 1`,
    );
    expect(owners).toEqual([
      {name: 'item', owner: OWNER_ROLE},
      {name: 'item_id_seq', owner: OWNER_ROLE},
      {name: 'item_seq_seq', owner: OWNER_ROLE},
      {name: 'payment', owner: OWNER_ROLE},
      {name: 'schema_migrations', owner: OWNER_ROLE},
      {name: 'schema_migrations_id_seq', owner: OWNER_ROLE},
    ]);
  });

  it('lets a service role read and write the tables of its own schema', async () => {
    const [{id}] = await payment.query<{id: string}>(
      "insert into item (name) values ('mug') returning id",
    );
    expect(
      await payment.execute("update item set name = 'cup' where id = $1", [id]),
    ).toBe(1);
    await payment.tx(async sql => {
      await sql.query("insert into item (name) values ('plate')");
    });
    expect(
      (
        await payment.query<{name: string}>('select name from item order by id')
      ).map(r => r.name),
    ).toEqual(['cup', 'plate']);
    expect(await payment.execute('delete from item')).toBe(2);
    const [who] = await payment.query<{user: string}>(
      'select current_user as user',
    );
    expect(who.user).toBe('agora_payment');
  });

  it("refuses a service role another service's schema: permission denied", async () => {
    await ordering.query("insert into item (name) values ('an order')");
    await expect(payment.query('select * from ordering.item')).rejects.toEqual(
      denied(/^permission denied for schema ordering$/),
    );
    await expect(
      payment.query("insert into ordering.item (name) values ('x')"),
    ).rejects.toEqual(denied(/^permission denied for schema ordering$/));
    await expect(ordering.query('select * from payment.item')).rejects.toEqual(
      denied(/^permission denied for schema payment$/),
    );
    // Not even through the superuser's view of the table: no grant on it at all.
    const grants = await asSuperuser<{n: number}>(
      `select count(*)::int as n from information_schema.role_table_grants
        where grantee = 'agora_payment' and table_schema <> 'payment'`,
    );
    expect(grants[0].n).toBe(0);
  });

  it('refuses a service role CREATE in its own schema, and any change to it', async () => {
    await expect(payment.query('create table extra (id int)')).rejects.toEqual(
      denied(/^permission denied for schema payment$/),
    );
    await expect(payment.query('create schema mine')).rejects.toEqual(
      denied(/^permission denied for database agora_test_service_roles$/),
    );
    await expect(
      payment.query('create temp table scratch (id int)'),
    ).rejects.toEqual(denied(/^permission denied to create temporary tables/));
    await expect(payment.query('truncate item')).rejects.toEqual(
      denied(/^permission denied for table item$/),
    );
    await expect(payment.query('drop table item')).rejects.toEqual(
      denied(/^must be owner of table item$/),
    );
    await expect(
      payment.query('alter table item add column x int'),
    ).rejects.toEqual(denied(/^must be owner of table item$/));
  });

  it('cannot migrate as a service role: the migrations need the owner URL', async () => {
    await expect(
      openDatabase({
        url: urlAs(serviceRole('report')),
        schema: 'report',
        migrations: MIGRATIONS,
        poolSize: 1,
        log,
      }),
    ).rejects.toEqual(denied(/^permission denied for database/));
  });

  it('runs migrations once when replicas start together (the advisory lock, as the owner)', async () => {
    const replicas = await Promise.all([
      openAs(serviceRole('report'), 'report'),
      openAs(serviceRole('report'), 'report'),
      openAs(serviceRole('report'), 'report'),
    ]);
    const applied = await replicas[0].query<{n: number}>(
      'select count(*)::int as n from schema_migrations',
    );
    expect(applied[0].n).toBe(1);
    await Promise.all(replicas.map(r => r.close()));
  });

  it('hands a schema made earlier by postgres to agora_owner, its data to the service role', async () => {
    const owners = await asSuperuser<{owner: string}>(
      `select pg_get_userbyid(c.relowner) as owner from pg_class c
        where c.relnamespace = 'pricing'::regnamespace and c.relkind in ('r', 'S')
          and c.relname like 'legacy%'`,
    );
    expect(owners).toEqual([{owner: OWNER_ROLE}, {owner: OWNER_ROLE}]);
    await pricing.query("insert into legacy (name) values ('after')");
    expect(
      (
        await pricing.query<{name: string}>(
          'select name from legacy order by id',
        )
      ).map(r => r.name),
    ).toEqual(['before the roles', 'after']);
    await expect(payment.query('select * from pricing.legacy')).rejects.toEqual(
      denied(/^permission denied for schema pricing$/),
    );
  });
});
