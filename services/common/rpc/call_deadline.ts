/**
 * The deadline of the incoming call a piece of work runs for, so the calls it makes to
 * other services give up when its own caller has (minus a margin to answer in), instead
 * of running on for their full default timeout after nobody waits any more.
 *
 * A handler opens the scope (`withCallDeadline`); outgoing calls read it
 * (grpc_client.ts). Work that must finish whatever the caller does (a saga's undo, a
 * roll forward after the point of no return) runs `outsideCallDeadline`.
 */
import {AsyncLocalStorage} from 'node:async_hooks';

const scope = new AsyncLocalStorage<number | undefined>();

/** Time kept back from an incoming deadline so the answer still reaches the caller. */
export const DEADLINE_MARGIN_MS = 250;

/** Runs `work` with outgoing calls bounded by `deadline` (epoch ms; undefined: none). */
export function withCallDeadline<T>(
  deadline: number | undefined,
  work: () => Promise<T>,
): Promise<T> {
  return scope.run(deadline, work);
}

/** Runs `work` free of the caller's deadline (its calls use their own timeouts). */
export function outsideCallDeadline<T>(work: () => Promise<T>): Promise<T> {
  return scope.run(undefined, work);
}

/**
 * Milliseconds an outgoing call may take: `fallbackMs`, cut to the incoming deadline
 * minus the margin. Zero or less means the caller's time is already up.
 */
export function outgoingTimeoutMs(fallbackMs: number): number {
  const deadline = scope.getStore();
  if (deadline === undefined) return fallbackMs;
  return Math.min(fallbackMs, deadline - DEADLINE_MARGIN_MS - Date.now());
}

/** The deadline of the enclosing call, if any (epoch ms). */
export function currentCallDeadline(): number | undefined {
  return scope.getStore();
}
