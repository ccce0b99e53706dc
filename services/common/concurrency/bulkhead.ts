/**
 * A bulkhead: at most `limit` tasks run at once; the rest wait in a FIFO queue of at most
 * `maxQueued`, beyond which new tasks are refused at once.
 *
 * Why: under a burst (2,000 buyers in the same second) an unbounded number of sagas each
 * hold a reservation and wait in every downstream queue; their calls pass their
 * deadlines, and sagas that would have succeeded undo themselves. Waiting *before* the
 * saga starts holds nothing, so a bounded number of sagas finish quickly and the rest
 * get their turn.
 */
import {DomainError} from '../errors/domain_error.js';

export class OverloadedError extends DomainError {
  constructor(what: string, queued: number) {
    super(
      'resource_exhausted',
      `${what}: ${queued} requests are already waiting; retry with backoff`,
      {queued: String(queued)},
    );
  }
}

export class Bulkhead {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly what: string,
    private readonly limit: number,
    private readonly maxQueued: number,
  ) {}

  /** Runs `task` when a slot is free; throws OverloadedError when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxQueued) {
        throw new OverloadedError(this.what, this.waiting.length);
      }
      await new Promise<void>(resolve => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next task, or give it back.
      if (next) next();
      else this.running--;
    }
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
