/** Inventory's migrations, in the order they run. */
import {OUTBOX_DELIVERY_MIGRATION} from '../../../../common/outbox/outbox_migration.js';
import {Migration0001Initial} from './0001_initial.js';
import {Migration0002SingleStatementPaths} from './0002_single_statement_paths.js';

export const INVENTORY_MIGRATIONS = [
  {name: '0001_initial', class: Migration0001Initial},
  {
    name: '0002_single_statement_paths',
    class: Migration0002SingleStatementPaths,
  },
  OUTBOX_DELIVERY_MIGRATION,
];
