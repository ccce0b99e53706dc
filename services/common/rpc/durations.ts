/**
 * google.protobuf.Duration from a number of seconds (ages and lags measured in
 * PostgreSQL arrive as fractional seconds), to the millisecond.
 */
import {create} from '@bufbuild/protobuf';
import {DurationSchema, type Duration} from '@bufbuild/protobuf/wkt';

export function durationFromSeconds(seconds: number): Duration {
  const ms = Math.max(0, Math.round(seconds * 1000));
  return create(DurationSchema, {
    seconds: BigInt(Math.floor(ms / 1000)),
    nanos: (ms % 1000) * 1_000_000,
  });
}

/** Seconds of a Duration (0 when unset). */
export function secondsOfDuration(d: Duration | undefined): number {
  return d ? Number(d.seconds) + d.nanos / 1e9 : 0;
}
