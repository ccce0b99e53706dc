/**
 * The Redis mirror of stock levels, and the fan-out of changes to watchers.
 *
 * Layout: one hash per SKU, `<ns>:stock:<sku>`, with the totals over all warehouses
 * (`on_hand`, `reserved`, `available`) and per warehouse `w:<id>:on_hand`,
 * `w:<id>:reserved`, `w:<id>:threshold`, `w:<id>:version`. A Lua script applies a
 * level only when its version is newer than the stored one, so writes that arrive out of
 * order (two replicas, a resync racing a live update) can never move the mirror back in
 * time. The same script publishes the change on `<ns>:stock-changes` for watchers.
 *
 * When Redis is down, writes fail fast and are dropped; PostgreSQL stays the truth, and
 * `resync()` rebuilds every key from it as soon as Redis is back (and every minute).
 */
import type {ChainableCommander, Redis} from 'ioredis';
import type {Logger} from '../../../common/log/logger.js';
import {
  stockChangesChannel,
  stockKey,
} from '../../../common/redis/stock_keys.js';
import type {StockLevel} from '../domain/stock_level.js';
import {UnavailableError} from '../../../common/errors/domain_error.js';
import type {MirroredSku} from '../domain/mirror_drift.js';
import type {
  InventoryStore,
  StockMirror,
  StockMirrorCheck,
} from '../app/ports.js';

const APPLY_LEVEL = `
local key, w = KEYS[1], 'w:' .. ARGV[1] .. ':'
local version = tonumber(ARGV[5])
local stored = tonumber(redis.call('HGET', key, w .. 'version') or '-1')
if version <= stored then return 0 end
local onHand, reserved = tonumber(ARGV[2]), tonumber(ARGV[3])
local oldOnHand = tonumber(redis.call('HGET', key, w .. 'on_hand') or '0')
local oldReserved = tonumber(redis.call('HGET', key, w .. 'reserved') or '0')
redis.call('HSET', key, w .. 'on_hand', onHand, w .. 'reserved', reserved,
  w .. 'threshold', ARGV[4], w .. 'version', version)
local totalOnHand = redis.call('HINCRBY', key, 'on_hand', onHand - oldOnHand)
local totalReserved = redis.call('HINCRBY', key, 'reserved', reserved - oldReserved)
redis.call('HSET', key, 'available', totalOnHand - totalReserved)
redis.call('PUBLISH', KEYS[2], ARGV[6])
return 1`;

/** The message published for each change (JSON on the changes channel). */
export interface StockChangeMessage {
  sku: string;
  warehouseId: string;
  onHand: number;
  reserved: number;
  threshold: number;
  version: number;
  updatedAt: string;
}

type Listener = (level: StockLevel) => void;

export class RedisStockMirror implements StockMirror, StockMirrorCheck {
  private readonly channel: string;
  private readonly listeners = new Set<{
    skus: Set<string> | undefined;
    fn: Listener;
  }>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private dirty = false;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly store: InventoryStore,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {
    this.channel = stockChangesChannel(namespace);
    redis.defineCommand('agoraApplyLevel', {numberOfKeys: 2, lua: APPLY_LEVEL});
  }

  /** Key of a SKU's hash. */
  key(sku: string): string {
    return stockKey(this.namespace, sku);
  }

  /** Starts the watcher subscription and the resync loop. */
  async start(resyncEveryMs = 60_000): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel)
        this.dispatch(JSON.parse(message) as StockChangeMessage);
    });
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(this.channel).catch(() => undefined);
    });
    if (this.subscriber.status === 'ready')
      await this.subscriber.subscribe(this.channel).catch(() => undefined);
    // Redis keeps nothing on disk: after a restart the mirror is empty; rebuild it.
    this.redis.on('ready', () => void this.resync());
    this.resyncTimer = setInterval(() => void this.resync(), resyncEveryMs);
    this.resyncTimer.unref();
    await this.resync();
  }

  async publish(levels: readonly StockLevel[]): Promise<void> {
    if (levels.length === 0) return;
    try {
      await this.apply(levels);
    } catch (err) {
      if (!this.dirty) {
        this.log.warn(
          'stock mirror write failed; will resync from PostgreSQL',
          {
            reason: err instanceof Error ? err.message : String(err),
          },
        );
      }
      this.dirty = true;
    }
  }

  private async apply(levels: readonly StockLevel[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const l of levels) this.queueLevel(pipeline, l);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /** Queues the versioned write of one level (and its change message) on `batch`. */
  private queueLevel(batch: ChainableCommander, l: StockLevel): void {
    const message: StockChangeMessage = {
      sku: l.sku,
      warehouseId: l.warehouseId,
      onHand: l.onHand,
      reserved: l.reserved,
      threshold: l.lowStockThreshold,
      version: l.version,
      updatedAt: l.updatedAt.toISOString(),
    };
    (
      batch as unknown as Record<string, (...args: unknown[]) => void>
    ).agoraApplyLevel(
      this.key(l.sku),
      this.channel,
      l.warehouseId,
      l.onHand,
      l.reserved,
      l.lowStockThreshold,
      l.version,
      JSON.stringify(message),
    );
  }

  /** Rewrites every level from PostgreSQL (newer versions already there are kept). */
  async resync(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      const levels = await this.store.allLevels();
      for (let i = 0; i < levels.length; i += 500)
        await this.apply(levels.slice(i, i + 500));
      if (this.dirty)
        this.log.info('stock mirror resynced', {levels: levels.length});
      this.dirty = false;
    } catch (err) {
      this.dirty = true;
      this.log.warn('stock mirror resync failed', {
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Calls `fn` for every change of the given SKUs (all SKUs when undefined). */
  watch(skus: readonly string[] | undefined, fn: Listener): () => void {
    const entry = {
      skus: skus && skus.length > 0 ? new Set(skus) : undefined,
      fn,
    };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  private dispatch(m: StockChangeMessage): void {
    const level: StockLevel = {
      sku: m.sku,
      warehouseId: m.warehouseId,
      onHand: m.onHand,
      reserved: m.reserved,
      lowStockThreshold: m.threshold,
      version: m.version,
      updatedAt: new Date(m.updatedAt),
    };
    for (const l of this.listeners) {
      if (!l.skus || l.skus.has(level.sku)) l.fn(level);
    }
  }

  async read(skus: readonly string[]): Promise<Map<string, MirroredSku>> {
    const found = new Map<string, MirroredSku>();
    try {
      for (let i = 0; i < skus.length; i += 500) {
        const batch = skus.slice(i, i + 500);
        const pipeline = this.redis.pipeline();
        for (const sku of batch) pipeline.hgetall(this.key(sku));
        const results = (await pipeline.exec()) ?? [];
        batch.forEach((sku, j) => {
          const [err, hash] = results[j] ?? [new Error('no answer'), null];
          if (err) throw err;
          found.set(sku, parseHash(hash as Record<string, string>));
        });
      }
    } catch (err) {
      throw new UnavailableError('the Redis stock mirror cannot be read', {
        cause: err,
      });
    }
    return found;
  }

  async rewrite(levels: readonly StockLevel[]): Promise<void> {
    const skus = [...new Set(levels.map(l => l.sku))];
    try {
      // DEL and the writes of a SKU in one MULTI, so no reader sees it missing. A live
      // write newer than `levels` that lands just before is undone until the next one
      // (or the minute resync), which re-applies PostgreSQL's newer version.
      for (const sku of skus) {
        const multi = this.redis.multi();
        multi.del(this.key(sku));
        for (const l of levels) if (l.sku === sku) this.queueLevel(multi, l);
        const results = await multi.exec();
        const failed = results?.find(([err]) => err);
        if (failed) throw failed[0];
      }
    } catch (err) {
      throw new UnavailableError('the Redis stock mirror cannot be written', {
        cause: err,
      });
    }
  }

  /** The mirrored totals of a SKU (for tests and operators). */
  async mirrored(
    sku: string,
  ): Promise<
    {onHand: number; reserved: number; available: number} | undefined
  > {
    const h = await this.redis.hgetall(this.key(sku));
    if (!h.on_hand) return undefined;
    return {
      onHand: Number(h.on_hand),
      reserved: Number(h.reserved),
      available: Number(h.available),
    };
  }

  stop(): void {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
  }
}

/** A SKU's hash (see the layout above); totals undefined when the key is absent. */
function parseHash(h: Record<string, string>): MirroredSku {
  const levels = new Map<
    string,
    {onHand: number; reserved: number; version: number}
  >();
  for (const [field, value] of Object.entries(h)) {
    const m = /^w:(.*):(on_hand|reserved|version)$/.exec(field);
    if (!m) continue;
    const level = levels.get(m[1]) ?? {onHand: 0, reserved: 0, version: -1};
    if (m[2] === 'on_hand') level.onHand = Number(value);
    else if (m[2] === 'reserved') level.reserved = Number(value);
    else level.version = Number(value);
    levels.set(m[1], level);
  }
  const totals =
    h.on_hand === undefined
      ? undefined
      : {
          onHand: Number(h.on_hand),
          reserved: Number(h.reserved ?? 0),
          available: Number(h.available ?? 0),
        };
  return {totals, levels};
}
