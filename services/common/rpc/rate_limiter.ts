/**
 * Per-caller rate limits by class of RPC: a token bucket per (caller, class), refilled
 * continuously. A caller over its rate gets RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
 * detail saying when the next call would pass. Service identities are exempt (the mesh
 * must never throttle its own saga), and so are admins: an operator's bulk job (seeding
 * a catalogue of thousands of SKUs) is not abuse, and the role is trusted with every
 * price already. Customers, and callers without a role, are limited.
 */
import {create, type DescMethod} from '@bufbuild/protobuf';
import {DurationSchema} from '@bufbuild/protobuf/wkt';
import {Code, ConnectError} from '@connectrpc/connect';
import {RetryInfoSchema} from '../../../gen/google/rpc/error_details_pb.js';
import {callerKey, type Principal} from '../auth/principal.js';
import type {EnvReader} from '../config/env.js';

export type RpcClass = 'read' | 'write' | 'report' | 'watch';

export interface RateLimits {
  /** Calls per second per caller for each class; the burst allowance is twice that. */
  perSecond: Record<RpcClass, number>;
  /** Watch streams one caller may hold open at once. */
  maxStreamsPerCaller: number;
}

export function readRateLimits(env: EnvReader): RateLimits {
  const rate = (cls: RpcClass, fallback: number) =>
    env.int(`AGORA_RATE_LIMIT_${cls.toUpperCase()}`, fallback, 1, 1_000_000);
  return {
    perSecond: {
      read: rate('read', 100),
      write: rate('write', 10),
      report: rate('report', 1),
      watch: rate('watch', 5),
    },
    maxStreamsPerCaller: env.int(
      'AGORA_MAX_STREAMS_PER_CALLER',
      16,
      1,
      100_000,
    ),
  };
}

/** Which budget a method spends: streams, report work, reads, everything else. */
export function rpcClassOf(method: DescMethod): RpcClass {
  if (method.methodKind === 'server_streaming') return 'watch';
  if (method.parent.typeName === 'agora.report.v1.ReportService') {
    return method.name.startsWith('GetReportJob') ? 'read' : 'report';
  }
  return /^(Get|List|BatchGet)/.test(method.name) ? 'read' : 'write';
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept before idle ones are swept (an idle bucket is full, so forgetting it is exact). */
const SWEEP_AT = 50_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Spends one call of `principal` on `method`, or throws RESOURCE_EXHAUSTED. */
  take(principal: Principal, method: DescMethod): void {
    if (principal.kind === 'service' || principal.kind === 'admin') return;
    const cls = rpcClassOf(method);
    const rate = this.limits.perSecond[cls];
    const burst = rate * 2;
    const key = `${cls}|${callerKey(principal)}`;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = {tokens: burst, at: now};
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(
        burst,
        bucket.tokens + ((now - bucket.at) * rate) / 1000,
      );
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const waitMs = Math.ceil(((1 - bucket.tokens) * 1000) / rate);
    throw new ConnectError(
      `rate limit: at most ${rate} ${cls} calls per second per caller; retry in ${waitMs} ms`,
      Code.ResourceExhausted,
      undefined,
      [
        {
          desc: RetryInfoSchema,
          value: create(RetryInfoSchema, {
            retryDelay: create(DurationSchema, {
              seconds: BigInt(Math.floor(waitMs / 1000)),
              nanos: (waitMs % 1000) * 1_000_000,
            }),
          }),
        },
      ],
    );
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at > 60_000) this.buckets.delete(key);
    }
  }
}
