import {Dec, Money} from '../../../common/money/money.js';
import {effectivePrice} from './price.js';
import {
  checkRule,
  ruleHolds,
  type MarketSignals,
  type PriceRule,
} from './price_rule.js';
import {priceBasket} from './quote.js';

const usd = (a: string) => Money.parse(a, 'USD');
const at = new Date('2026-11-26T10:00:00Z');

function rule(over: Partial<PriceRule>): PriceRule {
  return {
    id: 'r',
    name: 'rule',
    sku: undefined,
    condition: {kind: 'stock_at_or_below', threshold: 10},
    adjustmentPercent: new Dec(10),
    priority: 0,
    enabled: true,
    createdAt: at,
    ...over,
  };
}

const signals = (available: number | undefined, sold = 0): MarketSignals => ({
  available,
  unitsSold: () => sold,
});

describe('effectivePrice()', () => {
  it('applies holding rules in priority order, rounding each step to the minor unit', () => {
    const rules = [
      rule({id: 'late', priority: 2, adjustmentPercent: new Dec(-50)}),
      rule({id: 'early', priority: 1, adjustmentPercent: new Dec(10)}),
    ];
    // 19.99 +10 % = 21.989 → 21.99; −50 % = 10.995 → 11.00 (half away from zero)
    const {price, applied} = effectivePrice(
      usd('19.99'),
      'A',
      rules,
      signals(3),
    );
    expect(price.toString()).toBe('11.00');
    expect(applied).toEqual(['early', 'late']);
  });

  it('ignores rules that do not hold, are disabled, or name another SKU', () => {
    const rules = [
      rule({id: 'stock', condition: {kind: 'stock_at_or_below', threshold: 2}}),
      rule({id: 'off', enabled: false}),
      rule({id: 'other', sku: 'B'}),
    ];
    const {price, applied} = effectivePrice(
      usd('5.00'),
      'A',
      rules,
      signals(3),
    );
    expect(price.toString()).toBe('5.00');
    expect(applied).toEqual([]);
  });

  it('treats unknown stock (Redis down) as not low', () => {
    expect(ruleHolds(rule({}), 'A', signals(undefined))).toBe(false);
  });

  it('reacts to demand within the window', () => {
    const demand = rule({
      condition: {kind: 'demand_at_or_above', units: 5, windowMs: 60_000},
    });
    expect(ruleHolds(demand, 'A', signals(100, 5))).toBe(true);
    expect(ruleHolds(demand, 'A', signals(100, 4))).toBe(false);
  });

  it('never goes below one minor unit', () => {
    const rules = [
      rule({adjustmentPercent: new Dec(-90)}),
      rule({id: 'r2', adjustmentPercent: new Dec(-90)}),
    ];
    expect(
      effectivePrice(usd('0.01'), 'A', rules, signals(0)).price.toString(),
    ).toBe('0.01');
    expect(
      effectivePrice(
        Money.parse('5', 'JPY'),
        'A',
        rules,
        signals(0),
      ).price.toString(),
    ).toBe('1');
  });
});

describe('checkRule()', () => {
  it('rejects adjustments outside -90..500 % and zero', () => {
    const c = {kind: 'stock_at_or_below' as const, threshold: 1};
    expect(() => checkRule(c, '-90.5')).toThrow('adjustment_percent');
    expect(() => checkRule(c, '501')).toThrow('adjustment_percent');
    expect(() => checkRule(c, '0')).toThrow('adjustment_percent');
    expect(checkRule(c, '12.5').toString()).toBe('12.5');
  });

  it('rejects a demand window outside 1 s..30 days', () => {
    expect(() =>
      checkRule({kind: 'demand_at_or_above', units: 1, windowMs: 10}, '5'),
    ).toThrow('window');
  });
});

describe('priceBasket()', () => {
  const prices = new Map([
    [
      'A',
      {
        sku: 'A',
        base: usd('0.10'),
        effective: usd('0.10'),
        appliedRuleIds: [],
        updatedAt: at,
      },
    ],
    [
      'B',
      {
        sku: 'B',
        base: usd('0.20'),
        effective: usd('0.20'),
        appliedRuleIds: [],
        updatedAt: at,
      },
    ],
  ]);

  it('totals exactly, in request order', () => {
    const q = priceBasket(
      'q',
      'USD',
      [
        {sku: 'B', quantity: 1},
        {sku: 'A', quantity: 3},
      ],
      prices,
      at,
      60_000,
    );
    expect(q.lines.map(l => l.lineTotal.toString())).toEqual(['0.20', '0.30']);
    expect(q.total.toString()).toBe('0.50');
    expect(q.expiresAt.getTime() - q.createdAt.getTime()).toBe(60_000);
  });

  it('refuses a 22-digit total (10,000 × 999999999999999999.99) naming the line, not a quote field', () => {
    const huge = new Map([
      [
        'H',
        {
          sku: 'H',
          base: usd('999999999999999999.99'),
          effective: usd('999999999999999999.99'),
          appliedRuleIds: [],
          updatedAt: at,
        },
      ],
    ]);
    const quote = () =>
      priceBasket('q', 'USD', [{sku: 'H', quantity: 10_000}], huge, at, 1);
    expect(quote).toThrow(
      expect.objectContaining({
        kind: 'invalid_argument',
        details: {field: 'lines[0].quantity'},
      }),
    );
    expect(quote).toThrow('18 integer digits');
  });

  it('refuses a basket whose lines fit but whose total does not', () => {
    const big = new Map(
      ['X', 'Y'].map(sku => [
        sku,
        {
          sku,
          base: usd('600000000000000000.00'),
          effective: usd('600000000000000000.00'),
          appliedRuleIds: [],
          updatedAt: at,
        },
      ]),
    );
    expect(() =>
      priceBasket(
        'q',
        'USD',
        [
          {sku: 'X', quantity: 1},
          {sku: 'Y', quantity: 1},
        ],
        big,
        at,
        1,
      ),
    ).toThrow('lines: the basket total');
  });

  it('names the first SKU without a price', () => {
    expect(() =>
      priceBasket(
        'q',
        'USD',
        [
          {sku: 'A', quantity: 1},
          {sku: 'Z', quantity: 1},
        ],
        prices,
        at,
        1,
      ),
    ).toThrow('SKU Z has no USD price');
  });

  it('rejects a SKU listed twice', () => {
    expect(() =>
      priceBasket(
        'q',
        'USD',
        [
          {sku: 'A', quantity: 1},
          {sku: 'A', quantity: 1},
        ],
        prices,
        at,
        1,
      ),
    ).toThrow('lines[1].sku');
  });
});
