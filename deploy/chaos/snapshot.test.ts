import {driftOf} from './snapshot.js';

describe('driftOf (the Reconcile answer, read by field names)', () => {
  it('counts listed discrepancies and drift counters, ignoring other fields', () => {
    expect(
      driftOf({
        checkedAt: '2026-12-03T12:00:00Z',
        orders: [{orderId: 'o1'}],
        discrepancies: [{kind: 'ORPHAN_CAPTURE', subject: 'p9'}],
        report: {driftCount: 2, total: 7},
      }),
    ).toEqual({
      drift: 3,
      details: [
        'discrepancies: {"kind":"ORPHAN_CAPTURE","subject":"p9"}',
        'driftCount = 2',
      ],
    });
  });

  it('reads an answer without drift as zero', () => {
    expect(driftOf({discrepancies: [], driftCount: 0})).toEqual({
      drift: 0,
      details: [],
    });
  });
});
