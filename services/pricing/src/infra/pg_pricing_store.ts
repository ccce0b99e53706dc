/**
 * PricingStore on PostgreSQL.
 */
import type {Database, Sql} from '../../../common/db/database.js';
import type {OutgoingEvent} from '../../../common/messaging/event_bus.js';
import {Dec, Money} from '../../../common/money/money.js';
import {appendToOutbox} from '../../../common/outbox/outbox.js';
import type {Price} from '../domain/price.js';
import type {PriceRule} from '../domain/price_rule.js';
import type {
  ChangeCause,
  PriceChange,
  PricingStore,
  PricingTx,
  Sale,
} from '../app/ports.js';

interface PriceRow {
  sku: string;
  currency_code: string;
  base_amount: string;
  effective_amount: string;
  applied_rule_ids: string[];
  updated_at: Date;
}

interface RuleRow {
  rule_id: string;
  name: string;
  sku: string | null;
  kind: 'stock_at_or_below' | 'demand_at_or_above';
  stock_threshold: number | null;
  demand_units: number | null;
  demand_window_ms: string | null;
  adjustment_percent: string;
  priority: number;
  enabled: boolean;
  created_at: Date;
}

interface ChangeRow {
  change_id: string;
  sku: string;
  currency_code: string;
  old_amount: string | null;
  new_amount: string;
  cause: ChangeCause;
  rule_ids: string[];
  changed_at: Date;
}

function toPrice(row: PriceRow): Price {
  return {
    sku: row.sku,
    base: Money.of(row.base_amount, row.currency_code),
    effective: Money.of(row.effective_amount, row.currency_code),
    appliedRuleIds: row.applied_rule_ids,
    updatedAt: row.updated_at,
  };
}

function toRule(row: RuleRow): PriceRule {
  return {
    id: row.rule_id,
    name: row.name,
    sku: row.sku ?? undefined,
    condition:
      row.kind === 'stock_at_or_below'
        ? {kind: row.kind, threshold: row.stock_threshold ?? 0}
        : {
            kind: row.kind,
            units: row.demand_units ?? 0,
            windowMs: Number(row.demand_window_ms),
          },
    adjustmentPercent: new Dec(row.adjustment_percent),
    priority: row.priority,
    enabled: row.enabled,
    createdAt: row.created_at,
  };
}

function toChange(row: ChangeRow): PriceChange & {id: string} {
  return {
    id: row.change_id,
    sku: row.sku,
    currencyCode: row.currency_code,
    oldPrice:
      row.old_amount === null
        ? undefined
        : Money.of(row.old_amount, row.currency_code),
    newPrice: Money.of(row.new_amount, row.currency_code),
    cause: row.cause,
    ruleIds: row.rule_ids,
    changedAt: row.changed_at,
  };
}

class PgPricingTx implements PricingTx {
  constructor(
    private readonly sql: Sql,
    private readonly changeEvent: (change: PriceChange) => OutgoingEvent,
    private readonly onEvent: () => void,
  ) {}

  async lockPrices(sku: string): Promise<Price[]> {
    const rows = await this.sql.query<PriceRow>(
      'select * from price where sku = $1 order by currency_code for update',
      [sku],
    );
    return rows.map(toPrice);
  }

  async upsertPrice(p: Price): Promise<void> {
    await this.sql.execute(
      `insert into price (sku, currency_code, base_amount, effective_amount, applied_rule_ids, updated_at)
       values ($1, $2, $3, $4, $5, $6)
       on conflict (sku, currency_code) do update set base_amount = excluded.base_amount,
         effective_amount = excluded.effective_amount, applied_rule_ids = excluded.applied_rule_ids,
         updated_at = excluded.updated_at`,
      [
        p.sku,
        p.base.currencyCode,
        p.base.toString(),
        p.effective.toString(),
        p.appliedRuleIds,
        p.updatedAt,
      ],
    );
  }

  async updateEffective(
    sku: string,
    effective: Money,
    applied: readonly string[],
  ): Promise<boolean> {
    const n = await this.sql.execute(
      `update price set effective_amount = $3, applied_rule_ids = $4
        where sku = $1 and currency_code = $2
          and (effective_amount <> $3::numeric or applied_rule_ids <> $4::text[])`,
      [sku, effective.currencyCode, effective.toString(), applied],
    );
    return n > 0;
  }

  async recordChange(c: PriceChange): Promise<void> {
    await this.sql.execute(
      `insert into price_change (sku, currency_code, old_amount, new_amount, cause, rule_ids, changed_at)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [
        c.sku,
        c.currencyCode,
        c.oldPrice?.toString() ?? null,
        c.newPrice.toString(),
        c.cause,
        c.ruleIds,
        c.changedAt,
      ],
    );
    await appendToOutbox(this.sql, [this.changeEvent(c)]);
    this.onEvent();
  }

  async lockAndCountRules(
    sku: string | undefined,
  ): Promise<{total: number; sameSku: number}> {
    // Two creations at once must not both pass a count of limit - 1.
    await this.sql.query(
      "select pg_advisory_xact_lock(hashtext('agora.pricing.price_rule'))",
      [],
    );
    const [row] = await this.sql.query<{total: string; same: string}>(
      `select count(*) as total, count(*) filter (where sku is not distinct from $1) as same
         from price_rule`,
      [sku ?? null],
    );
    return {total: Number(row.total), sameSku: Number(row.same)};
  }

  async insertRule(r: PriceRule): Promise<void> {
    const c = r.condition;
    await this.sql.execute(
      `insert into price_rule (rule_id, name, sku, kind, stock_threshold, demand_units, demand_window_ms,
         adjustment_percent, priority, enabled, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        r.id,
        r.name,
        r.sku ?? null,
        c.kind,
        c.kind === 'stock_at_or_below' ? c.threshold : null,
        c.kind === 'demand_at_or_above' ? c.units : null,
        c.kind === 'demand_at_or_above' ? c.windowMs : null,
        r.adjustmentPercent.toFixed(),
        r.priority,
        r.enabled,
        r.createdAt,
      ],
    );
  }

  async deleteRule(id: string): Promise<boolean> {
    return (
      (await this.sql.execute('delete from price_rule where rule_id = $1', [
        id,
      ])) > 0
    );
  }
}

const RULES_TTL_MS = 1000;

export class PgPricingStore implements PricingStore {
  constructor(
    private readonly db: Database,
    private readonly changeEvent: (change: PriceChange) => OutgoingEvent,
    /** Called after a transaction that queued events committed. */
    private readonly afterCommit: () => void = () => {},
  ) {}

  private cachedRules: {at: number; rules: Promise<PriceRule[]>} | undefined;

  async tx<T>(work: (tx: PricingTx) => Promise<T>): Promise<T> {
    let events = false;
    const result = await this.db.tx(sql =>
      work(new PgPricingTx(sql, this.changeEvent, () => (events = true))),
    );
    if (events) this.afterCommit();
    // A rule may have changed in this transaction: read them afresh next time.
    this.cachedRules = undefined;
    return result;
  }

  async pricesIn(
    currencyCode: string,
    skus: readonly string[],
  ): Promise<Map<string, Price>> {
    const rows = await this.db.query<PriceRow>(
      'select * from price where currency_code = $1 and sku = any($2::text[])',
      [currencyCode, skus],
    );
    return new Map(rows.map(r => [r.sku, toPrice(r)]));
  }

  async pricedSkus(): Promise<string[]> {
    const rows = await this.db.query<{sku: string}>(
      'select distinct sku from price',
    );
    return rows.map(r => r.sku);
  }

  /**
   * Rules are read on every sale and every stock move but change rarely: they are cached
   * for RULES_TTL_MS, dropped at once when this process changes one, and re-read by the
   * other replicas within the TTL.
   */
  rules(): Promise<PriceRule[]> {
    const now = Date.now();
    if (!this.cachedRules || now - this.cachedRules.at > RULES_TTL_MS) {
      const loading = this.db
        .query<RuleRow>('select * from price_rule')
        .then(rows => rows.map(toRule));
      loading.catch(() => (this.cachedRules = undefined));
      this.cachedRules = {at: now, rules: loading};
    }
    return this.cachedRules.rules;
  }

  async recordSales(sales: readonly Sale[]): Promise<string[]> {
    // One statement (one commit) for a whole batch of events: a row per order line.
    const rows = sales.flatMap(sale => sale.lines.map(line => ({sale, line})));
    if (rows.length === 0) return [];
    const inserted = await this.db.query<{order_id: string}>(
      `insert into sale (order_id, sku, units, sold_at)
       select * from unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[])
       on conflict do nothing
       returning order_id`,
      [
        rows.map(r => r.sale.orderId),
        rows.map(r => r.line.sku),
        rows.map(r => r.line.quantity),
        rows.map(r => r.sale.soldAt),
      ],
    );
    return [...new Set(inserted.map(r => r.order_id))];
  }

  async history(
    sku: string,
    currencyCode: string,
    limit: number,
    beforeId?: string,
  ) {
    const rows = await this.db.query<ChangeRow>(
      `select * from price_change where sku = $1 and currency_code = $2
          and ($3::bigint is null or change_id < $3::bigint)
        order by change_id desc limit $4`,
      [sku, currencyCode, beforeId ?? null, limit],
    );
    return rows.map(toChange);
  }

  async unitsSold(sku: string, since: Date): Promise<number> {
    const [row] = await this.db.query<{units: string | null}>(
      'select sum(units) as units from sale where sku = $1 and sold_at > $2',
      [sku, since],
    );
    return Number(row?.units ?? 0);
  }
}
