/**
 * Who is calling: what authentication makes of a verified credential, and what
 * authorization and the handlers decide on. Nothing here knows of JWTs or gRPC.
 */
import type {ServiceName} from '../config/service_config.js';

export type Principal =
  /** A shopper; `customerId` is the token's subject, so it may act only as itself. */
  | {kind: 'customer'; customerId: string; subject: string}
  /** An operator: prices, rules, stock, reports, and any order's cancel or refund. */
  | {kind: 'admin'; subject: string}
  /** Another Agora service calling inside the mesh. */
  | {kind: 'service'; service: ServiceName; subject: string}
  /** A valid credential that grants no Agora role: authenticated, allowed nothing. */
  | {kind: 'none'; subject: string};

/** Everyone, when authentication is switched off (benchmarks' A/B only; never in production). */
export const AUTH_OFF_PRINCIPAL: Principal = {
  kind: 'admin',
  subject: 'anonymous (auth off)',
};

/** The customer a principal is restricted to, or undefined when it may see every customer. */
export function customerScope(principal: Principal): string | undefined {
  return principal.kind === 'customer' ? principal.customerId : undefined;
}

/** The key that per-caller limits count under: one bucket per subject. */
export function callerKey(principal: Principal): string {
  return principal.kind === 'service'
    ? `service:${principal.service}`
    : `${principal.kind}:${principal.subject}`;
}
