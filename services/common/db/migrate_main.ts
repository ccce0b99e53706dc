/**
 * The child process that runs a service's migrations (see migrator.ts for why a child):
 * `AGORA_MIGRATE_SPEC` names the module and export of the migration list, the schema
 * and the owner's URL. Logs go to stdout as the service's own lines; on failure the
 * reason is the last line on stderr and the exit code is 1.
 */
import {createLogger} from '../log/logger.js';
import {
  runMigrations,
  type MigrateSpec,
  type MigrationList,
} from './migrator.js';

try {
  const spec = JSON.parse(process.env.AGORA_MIGRATE_SPEC ?? '') as MigrateSpec;
  const exports = (await import(spec.module)) as Record<string, unknown>;
  const list = exports[spec.exportName];
  if (!Array.isArray(list)) {
    throw new Error(
      `${spec.module} exports no migration list ${spec.exportName}`,
    );
  }
  await runMigrations(
    spec.url,
    spec.schema,
    list as MigrationList,
    spec.acquireMs,
    createLogger(spec.service),
  );
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
