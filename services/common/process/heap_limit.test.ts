import {DEFAULT_HEAP_MB, heapLimitMb} from './service_process.js';

describe('heapLimitMb', () => {
  it('keeps the hot-path services to 128 MiB of old generation and gives Report more', () => {
    expect(heapLimitMb('order', {})).toBe(128);
    expect(heapLimitMb('inventory', {})).toBe(128);
    expect(heapLimitMb('report', {})).toBe(DEFAULT_HEAP_MB.report);
    expect(DEFAULT_HEAP_MB.report).toBeGreaterThan(128);
  });

  it('takes AGORA_<SERVICE>_HEAP_MB for one service only', () => {
    const env = {AGORA_ORDER_HEAP_MB: '256'};
    expect(heapLimitMb('order', env)).toBe(256);
    expect(heapLimitMb('payment', env)).toBe(128);
  });

  it('refuses a value that is not a whole number of MiB in range', () => {
    expect(() => heapLimitMb('order', {AGORA_ORDER_HEAP_MB: '12'})).toThrow(
      'AGORA_ORDER_HEAP_MB',
    );
    expect(() => heapLimitMb('order', {AGORA_ORDER_HEAP_MB: 'lots'})).toThrow(
      'AGORA_ORDER_HEAP_MB',
    );
  });
});
