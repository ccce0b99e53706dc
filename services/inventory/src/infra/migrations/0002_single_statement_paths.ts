/**
 * Lets a reservation be taken or committed in one statement (one round trip, one commit
 * per call): `agora_require` aborts the statement, and so every change it made, when a
 * condition computed from its own data-modifying CTEs does not hold.
 */
import {Migration} from '@mikro-orm/migrations';

export class Migration0002SingleStatementPaths extends Migration {
  override up(): void {
    this.addSql(`
      create function agora_require(ok boolean, message text) returns boolean
      language plpgsql as $$
      begin
        if not ok then
          raise exception using errcode = 'P0001', message = message;
        end if;
        return true;
      end $$`);
  }
}
