/**
 * A report job: a sales report computed in the background and kept, for reports too
 * big or too slow to wait for in one call.
 *
 *   PENDING ──claim──▶ RUNNING ──succeed──▶ SUCCEEDED
 *                        │   └───fail────▶ FAILED
 *                        └──lease ran out (worker died)──▶ claimed again, attempt + 1
 *
 * Claiming is done by the store (one UPDATE that also counts the attempt), so here a job
 * only moves from RUNNING to one of its two ends.
 */
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {IllegalReportJobTransitionError} from './errors.js';
import type {ReportPeriod} from './report_period.js';
import type {GroupBy} from './sales_report.js';

export type ReportJobState = 'pending' | 'running' | 'succeeded' | 'failed';

/** What a job computes; the same request id must always ask for the same thing. */
export interface ReportSpec {
  readonly period: ReportPeriod;
  readonly groupBy: GroupBy;
}

export interface ReportJobInit {
  readonly id: string;
  readonly requestId: string;
  readonly spec: ReportSpec;
  readonly createdAt: Date;
}

export interface ReportJobSnapshot extends ReportJobInit {
  readonly state: ReportJobState;
  /** Rows of the finished report (totals not counted); 0 until SUCCEEDED. */
  readonly rowCount: number;
  /** Why the job FAILED, for people; empty otherwise. */
  readonly errorMessage: string;
  readonly finishedAt: Date | undefined;
  /** How many times a worker claimed it; fences a worker whose lease ran out. */
  readonly attempt: number;
}

export class ReportJob {
  private constructor(private s: ReportJobSnapshot) {}

  /** A new PENDING job. */
  static create(init: ReportJobInit): ReportJob {
    checkUuid('request_id', init.requestId);
    return new ReportJob({
      ...init,
      state: 'pending',
      rowCount: 0,
      errorMessage: '',
      finishedAt: undefined,
      attempt: 0,
    });
  }

  /** A job as stored. */
  static restore(snapshot: ReportJobSnapshot): ReportJob {
    return new ReportJob(snapshot);
  }

  /** The job's data, for storing it. */
  snapshot(): ReportJobSnapshot {
    return {...this.s};
  }

  get id(): string {
    return this.s.id;
  }
  get requestId(): string {
    return this.s.requestId;
  }
  get spec(): ReportSpec {
    return this.s.spec;
  }
  get state(): ReportJobState {
    return this.s.state;
  }
  get rowCount(): number {
    return this.s.rowCount;
  }
  get errorMessage(): string {
    return this.s.errorMessage;
  }
  get createdAt(): Date {
    return this.s.createdAt;
  }
  get finishedAt(): Date | undefined {
    return this.s.finishedAt;
  }
  get attempt(): number {
    return this.s.attempt;
  }

  /** Whether `spec` is what this job was started for (an idempotent retry). */
  isFor(spec: ReportSpec): boolean {
    const mine = this.s.spec;
    return (
      mine.groupBy === spec.groupBy &&
      mine.period.startDate === spec.period.startDate &&
      mine.period.endDate === spec.period.endDate
    );
  }

  /** RUNNING → SUCCEEDED with the number of report rows. */
  succeed(rowCount: number, now: Date): void {
    this.finish('succeeded', now);
    this.s = {...this.s, rowCount};
  }

  /** RUNNING → FAILED; `message` is shown to clients, so it must hold no internals. */
  fail(message: string, now: Date): void {
    this.finish('failed', now);
    this.s = {...this.s, errorMessage: message};
  }

  private finish(to: 'succeeded' | 'failed', now: Date): void {
    if (this.s.state !== 'running') {
      throw new IllegalReportJobTransitionError(this.s.id, this.s.state, to);
    }
    this.s = {...this.s, state: to, finishedAt: now};
  }
}

const UUID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Throws INVALID_ARGUMENT unless `value` is a UUID. The schema rules check this at the
 * RPC edge already; checking again here keeps a malformed id from reaching a uuid column
 * as an SQL error (INTERNAL) when a use case is called some other way.
 */
export function checkUuid(field: string, value: string): string {
  if (!UUID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      field,
      `${JSON.stringify(value)} is not a UUID`,
    );
  }
  return value;
}
