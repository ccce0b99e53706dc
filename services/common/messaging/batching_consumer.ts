/**
 * Hands a subscriber the messages the broker delivered together, as one batch.
 *
 * Why: under load Report and Pricing receive an order.paid event per order, and storing
 * each in its own statement cost a PostgreSQL commit per event. The broker pushes up to
 * the prefetch count at once; whatever has arrived when the event loop next turns is
 * one batch (one statement, one commit), and messages that arrive while a batch is
 * being stored form the next. Batches of one subscription run one after the other.
 *
 * A batch either succeeds (every message is acknowledged) or is retried one message at
 * a time through the subscriber's single-event path, so one bad event cannot hold back
 * the others and is dealt with as it would have been alone.
 */

/** What a batch needs of the channel. */
export interface Acknowledger<M> {
  ack(message: M): void;
}

export class BatchingConsumer<M> {
  private buffer: M[] = [];
  private draining = false;

  constructor(
    private readonly channel: Acknowledger<M>,
    private readonly handleBatch: (batch: M[]) => Promise<void>,
    /** The one-message path; it acknowledges or requeues the message itself. */
    private readonly handleOne: (message: M) => void,
    private readonly maxBatch: number,
    private readonly onBatchFailed: (err: unknown, size: number) => void,
  ) {}

  push(message: M): void {
    this.buffer.push(message);
    if (this.draining) return;
    this.draining = true;
    // Let the rest of what the broker sent in the same read arrive first.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.maxBatch);
      try {
        await this.handleBatch(batch);
      } catch (err) {
        this.onBatchFailed(err, batch.length);
        for (const message of batch) this.handleOne(message);
        continue;
      }
      for (const message of batch) this.channel.ack(message);
    }
    this.draining = false;
  }
}
