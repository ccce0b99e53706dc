/**
 * Live stock for pricing rules, read from Inventory's Redis mirror (a published read
 * model, see common/redis/stock_keys.ts), and a trigger on every stock change.
 */
import type {Redis} from 'ioredis';
import type {Logger} from '../../../common/log/logger.js';
import {
  stockChangesChannel,
  stockKey,
} from '../../../common/redis/stock_keys.js';
import type {StockSignals} from '../app/ports.js';

export class RedisStockSignals implements StockSignals {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {}

  async available(sku: string): Promise<number | undefined> {
    try {
      const value = await this.redis.hget(
        stockKey(this.namespace, sku),
        'available',
      );
      return value === null ? undefined : Number(value);
    } catch {
      // Redis down: stock rules do not hold, prices fall back to what other rules make.
      return undefined;
    }
  }

  /**
   * Calls `onChanged` with the SKUs whose stock moved, at most every `debounceMs`: in a
   * flash sale one SKU changes hundreds of times a second, and pricing needs only the
   * latest level.
   */
  async listen(
    subscriber: Redis,
    onChanged: (skus: string[]) => Promise<void>,
    debounceMs = 200,
  ): Promise<void> {
    const channel = stockChangesChannel(this.namespace);
    const run = () => {
      const skus = [...this.pending];
      this.pending.clear();
      onChanged(skus)
        .catch(err =>
          this.log.warn('reprice after stock change failed', {
            reason: err instanceof Error ? err.message : String(err),
          }),
        )
        .finally(() => {
          this.timer = undefined;
          if (this.pending.size > 0) schedule();
        });
    };
    const schedule = () => {
      this.timer ??= setTimeout(run, debounceMs);
    };
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      this.pending.add((JSON.parse(message) as {sku: string}).sku);
      schedule();
    });
    subscriber.on(
      'ready',
      () => void subscriber.subscribe(channel).catch(() => undefined),
    );
    if (subscriber.status === 'ready')
      await subscriber.subscribe(channel).catch(() => undefined);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
