/**
 * The database's own limit for an order, measured in the same run: pgbench runs a
 * minimal one-transaction order (take one unit if available, insert the order) with 32
 * clients and synchronous commit, on spread SKUs and on one hot SKU.
 */
import {execFile} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const DB = 'agora_bench_pgbench';

const SETUP = `
drop table if exists bench_stock, bench_order;
create table bench_stock (sku int primary key, available int not null check (available >= 0));
create table bench_order (id bigserial primary key, sku int not null, quantity int not null,
  amount numeric(24, 4) not null, created_at timestamptz not null default now());
insert into bench_stock select g, 100000000 from generate_series(1, 1000) g;`;

function script(sku: string): string {
  return `\\set sku ${sku}
BEGIN;
UPDATE bench_stock SET available = available - 1 WHERE sku = :sku AND available >= 1;
INSERT INTO bench_order (sku, quantity, amount) VALUES (:sku, 1, 19.99);
COMMIT;
`;
}

export interface PgbenchResult {
  spreadTps: number;
  hotTps: number;
}

export async function pgbenchBaseline(
  adminUrl: string,
  seconds: number,
): Promise<PgbenchResult> {
  const admin = new pg.Client({connectionString: adminUrl});
  await admin.connect();
  await admin.query(`drop database if exists ${DB} with (force)`);
  await admin.query(`create database ${DB}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${DB}`;
  const db = new pg.Client({connectionString: url.toString()});
  await db.connect();
  await db.query(SETUP);
  await db.end();

  const dir = mkdtempSync(join(tmpdir(), 'agora-pgbench-'));
  const tps = async (name: string, sku: string) => {
    const file = join(dir, `${name}.sql`);
    writeFileSync(file, script(sku));
    const {stdout} = await run('pgbench', [
      '-n',
      '-c',
      '32',
      '-j',
      '2',
      '-T',
      String(seconds),
      '-M',
      'prepared',
      '-f',
      file,
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username) || 'postgres',
      DB,
    ]);
    const match = /tps = ([\d.]+)/.exec(stdout);
    if (!match) throw new Error(`pgbench printed no tps:\n${stdout}`);
    return Number(match[1]);
  };
  const spreadTps = await tps('spread', 'random(1, 1000)');
  const hotTps = await tps('hot', '1');
  const cleanup = new pg.Client({connectionString: adminUrl});
  await cleanup.connect();
  await cleanup.query(`drop database if exists ${DB} with (force)`);
  await cleanup.end();
  return {spreadTps, hotTps};
}
