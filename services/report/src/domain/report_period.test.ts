import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {
  MAX_PERIOD_DAYS,
  parseReportPeriod,
  periodEnd,
  periodStart,
} from './report_period.js';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.field;
    throw err;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('parseReportPeriod()', () => {
  it('accepts a single day and a month', () => {
    expect(parseReportPeriod('2026-11-26', '2026-11-26')).toEqual({
      startDate: '2026-11-26',
      endDate: '2026-11-26',
    });
    expect(parseReportPeriod('2026-11-01', '2026-11-30').endDate).toBe(
      '2026-11-30',
    );
  });

  it('accepts February 29 in a leap year', () => {
    expect(() => parseReportPeriod('2024-02-29', '2024-03-01')).not.toThrow();
  });

  it('rejects start_date when it is not a calendar date', () => {
    expect(fieldOf(() => parseReportPeriod('2026-02-30', '2026-03-01'))).toBe(
      'start_date',
    );
    expect(() => parseReportPeriod('2026-02-30', '2026-03-01')).toThrow(
      'start_date: "2026-02-30" is not a calendar date',
    );
  });

  it('rejects end_date when it is not a calendar date', () => {
    expect(fieldOf(() => parseReportPeriod('2025-02-01', '2025-02-29'))).toBe(
      'end_date',
    );
    expect(fieldOf(() => parseReportPeriod('2026-01-01', '2026-13-01'))).toBe(
      'end_date',
    );
    expect(fieldOf(() => parseReportPeriod('2026-04-01', '2026-04-31'))).toBe(
      'end_date',
    );
    expect(fieldOf(() => parseReportPeriod('2026-01-01', '2026-01-00'))).toBe(
      'end_date',
    );
  });

  it('rejects year 0, which PostgreSQL has no day of', () => {
    expect(fieldOf(() => parseReportPeriod('0000-01-01', '0001-01-01'))).toBe(
      'start_date',
    );
  });

  it('rejects dates when they are not written YYYY-MM-DD', () => {
    for (const bad of [
      '2026-1-05',
      '26-01-05',
      '2026/01/05',
      '',
      '2026-01-05T00:00:00Z',
      ' 2026-01-05',
    ]) {
      expect(fieldOf(() => parseReportPeriod(bad, '2026-01-05'))).toBe(
        'start_date',
      );
    }
  });

  it('rejects end_date when it is before start_date', () => {
    expect(() => parseReportPeriod('2026-11-02', '2026-11-01')).toThrow(
      'end_date: 2026-11-01 is before start_date 2026-11-02',
    );
  });

  it(`accepts end_date ${MAX_PERIOD_DAYS} days after start_date and rejects one day more`, () => {
    // 2024 is a leap year: 2024-01-01 + 366 days = 2025-01-01.
    expect(() => parseReportPeriod('2024-01-01', '2025-01-01')).not.toThrow();
    expect(fieldOf(() => parseReportPeriod('2024-01-01', '2025-01-02'))).toBe(
      'end_date',
    );
    expect(() => parseReportPeriod('2024-01-01', '2025-01-02')).toThrow(
      'got 367 days',
    );
  });
});

describe('periodStart() and periodEnd()', () => {
  it('cover whole UTC days: from start_date 00:00Z to the midnight after end_date', () => {
    const period = parseReportPeriod('2026-11-30', '2026-12-31');
    expect(periodStart(period).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(periodEnd(period).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('handle years below 100 without the Date.UTC 19xx shift', () => {
    const period = parseReportPeriod('0099-12-31', '0099-12-31');
    expect(periodStart(period).getUTCFullYear()).toBe(99);
    expect(periodEnd(period).toISOString()).toBe('0100-01-01T00:00:00.000Z');
  });
});
