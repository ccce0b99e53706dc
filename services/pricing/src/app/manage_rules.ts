/**
 * Creating, listing and deleting dynamic pricing rules. A rule change reprices every SKU
 * it can touch at once, so quotes follow it immediately.
 */
import {randomUUID} from 'node:crypto';
import {NotFoundError} from '../../../common/errors/domain_error.js';
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

export class ManageRules {
  constructor(
    private readonly store: PricingStore,
    private readonly reprice: Reprice,
    private readonly clock: Clock,
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
    await this.store.tx(tx => tx.insertRule(rule));
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
