import {Money} from './money.js';

describe('Money', () => {
  describe('parse()', () => {
    it('keeps decimal amounts exact', () => {
      expect(
        Money.parse('0.10', 'USD').plus(Money.parse('0.20', 'USD')).toString(),
      ).toBe('0.30');
    });

    it('rejects a code that is not ISO 4217, naming the field', () => {
      expect(() => Money.parse('1.00', 'XYZ', 'price')).toThrow(
        'price.currency_code',
      );
    });

    it('rejects exponent notation and separators', () => {
      expect(() => Money.parse('1e3', 'USD')).toThrow('amount');
      expect(() => Money.parse('1,000.00', 'USD')).toThrow('amount');
    });

    it('keeps 18 integer digits times a quantity exact', () => {
      const big = Money.parse('999999999999999999.99', 'USD');
      expect(big.times(10_000).toString()).toBe('9999999999999999999900.00');
    });
  });

  describe('assertInRange()', () => {
    it('accepts 18 integer digits and refuses 19, naming the field', () => {
      const big = Money.parse('999999999999999999.99', 'USD');
      expect(() => big.assertInRange('price')).not.toThrow();
      expect(() =>
        big.times(10_000).assertInRange('lines[0].quantity'),
      ).toThrow(
        'lines[0].quantity: the amount 9999999999999999999900.00 USD exceeds',
      );
      expect(big.times(2).isInRange()).toBe(false);
      expect(big.times(-2).isInRange()).toBe(false);
    });
  });

  describe('assertChargeable()', () => {
    it('accepts whole minor units of each currency', () => {
      expect(() =>
        Money.parse('19.99', 'USD').assertChargeable('amount'),
      ).not.toThrow();
      expect(() =>
        Money.parse('1500', 'JPY').assertChargeable('amount'),
      ).not.toThrow();
      expect(() =>
        Money.parse('1.234', 'BHD').assertChargeable('amount'),
      ).not.toThrow();
    });

    it('rejects amounts finer than the minor unit', () => {
      expect(() =>
        Money.parse('19.999', 'USD').assertChargeable('amount'),
      ).toThrow('at most 2 decimal places');
      expect(() =>
        Money.parse('1500.5', 'JPY').assertChargeable('amount'),
      ).toThrow('at most 0 decimal places');
      expect(() =>
        Money.parse('1.2345', 'BHD').assertChargeable('amount'),
      ).toThrow('at most 3 decimal places');
    });

    it('rejects zero and negative amounts', () => {
      expect(() => Money.parse('0', 'USD').assertChargeable('amount')).toThrow(
        'greater than zero',
      );
      expect(() =>
        Money.parse('-1.00', 'USD').assertChargeable('amount'),
      ).toThrow('greater than zero');
    });
  });

  describe('adjustByPercent()', () => {
    it('rounds half away from zero to the minor unit of the currency', () => {
      expect(Money.parse('19.99', 'USD').adjustByPercent('10').toString()).toBe(
        '21.99',
      ); // 21.989
      expect(Money.parse('0.05', 'USD').adjustByPercent('-50').toString()).toBe(
        '0.03',
      ); // 0.025
      expect(Money.parse('999', 'JPY').adjustByPercent('5').toString()).toBe(
        '1049',
      ); // 1048.95
      expect(
        Money.parse('1.000', 'KWD').adjustByPercent('0.05').toString(),
      ).toBe('1.001'); // 1.0005
    });
  });

  describe('allocate()', () => {
    it('loses no minor unit and gives leftovers to the largest remainders', () => {
      const parts = Money.parse('10.00', 'USD').allocate([1, 1, 1]);
      expect(parts.map(p => p.toString())).toEqual(['3.34', '3.33', '3.33']);
    });

    it('splits by weight', () => {
      const parts = Money.parse('100', 'JPY').allocate([1, 2]);
      expect(parts.map(p => p.toString())).toEqual(['33', '67']);
    });

    it('keeps the sign of negative amounts', () => {
      const parts = Money.parse('-0.05', 'EUR').allocate([1, 1]);
      expect(parts.map(p => p.toString())).toEqual(['-0.03', '-0.02']);
    });
  });

  it('refuses to add different currencies', () => {
    expect(() =>
      Money.parse('1.00', 'USD').plus(Money.parse('1.00', 'EUR')),
    ).toThrow('cannot combine USD and EUR');
  });

  it('prints at least the currency decimals', () => {
    expect(Money.parse('20', 'USD').toString()).toBe('20.00');
    expect(Money.parse('20', 'JPY').toString()).toBe('20');
  });
});
