/**
 * Creating, listing and deleting dynamic pricing rules. A rule change reprices every SKU
 * it can touch at once, so quotes follow it immediately.
 */
import {randomUUID} from 'node:crypto';
import {
  DomainError,
  NotFoundError,
} from '../../../common/errors/domain_error.js';
import {
  checkRule,
  sortRules,
  type PriceRule,
  type RuleCondition,
} from '../domain/price_rule.js';
import type {Clock, PricingStore} from './ports.js';
import type {Reprice} from './reprice.js';

export interface CreateRuleCommand {
  name: string;
  sku: string | undefined;
  condition: RuleCondition;
  adjustmentPercent: string;
  priority: number;
  enabled: boolean;
}

/**
 * How many rules may exist: every quote and every repricing evaluates them, so their
 * number is bounded like any other input.
 */
export const RULE_LIMITS = {total: 1000, perSku: 20};

export class ManageRules {
  constructor(
    private readonly store: PricingStore,
    private readonly reprice: Reprice,
    private readonly clock: Clock,
    private readonly limits = RULE_LIMITS,
  ) {}

  async create(cmd: CreateRuleCommand): Promise<PriceRule> {
    const pct = checkRule(cmd.condition, cmd.adjustmentPercent);
    const rule: PriceRule = {
      id: randomUUID(),
      name: cmd.name,
      sku: cmd.sku,
      condition: cmd.condition,
      adjustmentPercent: pct,
      priority: cmd.priority,
      enabled: cmd.enabled,
      createdAt: this.clock.now(),
    };
    await this.store.tx(async tx => {
      const count = await tx.lockAndCountRules(rule.sku);
      if (count.total >= this.limits.total) {
        throw new DomainError(
          'resource_exhausted',
          `at most ${this.limits.total} price rules; delete one first`,
          {limit: String(this.limits.total)},
          {reason: 'PRICE_RULE_LIMIT'},
        );
      }
      if (count.sameSku >= this.limits.perSku) {
        throw new DomainError(
          'resource_exhausted',
          `at most ${this.limits.perSku} price rules ${rule.sku ? `for SKU ${rule.sku}` : 'for every SKU'}; delete one first`,
          {limit: String(this.limits.perSku), sku: rule.sku ?? ''},
          {reason: 'PRICE_RULE_LIMIT'},
        );
      }
      await tx.insertRule(rule);
    });
    await this.repriceFor(rule);
    return rule;
  }

  async list(): Promise<PriceRule[]> {
    return sortRules(await this.store.rules());
  }

  async delete(id: string): Promise<void> {
    const rule = (await this.store.rules()).find(r => r.id === id);
    if (!rule || !(await this.store.tx(tx => tx.deleteRule(id)))) {
      throw new NotFoundError('price rule', id);
    }
    await this.repriceFor(rule);
  }

  private async repriceFor(rule: PriceRule): Promise<void> {
    const skus = rule.sku ? [rule.sku] : await this.store.pricedSkus();
    await this.reprice.execute(skus, 'rule');
  }
}
