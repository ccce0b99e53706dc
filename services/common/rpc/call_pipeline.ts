/**
 * What every call passes through before its handler, on both ports (grpc-js and the
 * Connect / gRPC-Web edge), in this order: authenticate (the bearer token) → authorize
 * (the access table) → limits (per-caller rate) → validate (the protovalidate rules).
 * After the handler, both ports map errors through error_mapping.ts and tell the
 * observers (log, metrics). One implementation, so the two ports cannot drift apart.
 *
 * Authentication comes first: an anonymous caller learns nothing about a request's
 * validity, and a refused call never reaches a handler, so it writes nothing.
 */
import type {DescMethod, DescMessage, MessageShape} from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
} from '@connectrpc/connect';
import {ACCESS_TABLE, ACCESS_WHO, mayCall} from '../auth/access_table.js';
import {
  AUTH_OFF_PRINCIPAL,
  callerKey,
  type Principal,
} from '../auth/principal.js';
import type {TokenVerifier} from '../auth/token_verifier.js';
import {SERVICE_PORTS, type ServiceName} from '../config/service_config.js';
import type {RateLimiter} from './rate_limiter.js';
import {validateRequest} from './validation.js';

/** The caller of the current call, for handlers that scope by customer. */
export const PRINCIPAL = createContextKey<Principal>({
  kind: 'none',
  subject: 'unknown',
});

/** Who is calling; set by the pipeline on both ports. */
export function principalOf(ctx: HandlerContext): Principal {
  return ctx.values.get(PRINCIPAL);
}

export interface CallPipelineOptions {
  /** Absent: authentication is off (benchmark A/B runs; refused in production). */
  verifier?: TokenVerifier;
  limiter?: RateLimiter;
  /** Open watch streams one caller may hold at once (service identities exempt). */
  maxStreamsPerCaller?: number;
}

export class CallPipeline {
  private readonly openStreams = new Map<string, number>();

  constructor(private readonly opts: CallPipelineOptions = {}) {}

  /**
   * Counts a watch stream against its caller; returns the release to call when it ends.
   * Past the limit the stream is refused with RESOURCE_EXHAUSTED, so one caller's
   * thousand streams cannot take the memory every other caller needs.
   */
  openStream(principal: Principal): () => void {
    const max = this.opts.maxStreamsPerCaller;
    if (max === undefined || principal.kind === 'service') return () => {};
    const key = callerKey(principal);
    const open = this.openStreams.get(key) ?? 0;
    if (open >= max) {
      throw new ConnectError(
        `at most ${max} open watch streams per caller; close one first`,
        Code.ResourceExhausted,
      );
    }
    this.openStreams.set(key, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.openStreams.get(key) ?? 1) - 1;
      if (left <= 0) this.openStreams.delete(key);
      else this.openStreams.set(key, left);
    };
  }

  /**
   * Admits a call or throws the ConnectError that refuses it. Synchronous when the
   * caller's token was verified before (the common case), so the hot path adds no await.
   */
  admit<D extends DescMessage>(
    method: DescMethod & {input: D},
    authorization: string | undefined,
    message: MessageShape<D> | undefined,
    /** The service named by the peer's TLS certificate (mutual TLS), if any. */
    peerService?: string,
  ): Principal | Promise<Principal> {
    const verifier = this.opts.verifier;
    if (!verifier) {
      return this.afterAuthentication(AUTH_OFF_PRINCIPAL, method, message);
    }
    // Over mutual TLS a service's certificate is its identity: no token needed.
    if (!authorization && peerService) {
      return this.afterAuthentication(
        certifiedService(peerService),
        method,
        message,
      );
    }
    const known = authorization ? verifier.cached(authorization) : undefined;
    if (known) {
      return this.afterAuthentication(
        matchCertificate(known, peerService),
        method,
        message,
      );
    }
    return verifier
      .principal(authorization)
      .then(p =>
        this.afterAuthentication(
          matchCertificate(p, peerService),
          method,
          message,
        ),
      );
  }

  /**
   * Admits an operator's plain-HTTP request (/metrics): an admin's token when
   * authentication is on. Prometheus sends one with `authorization.credentials_file`.
   */
  async admitOperator(authorization: string | undefined): Promise<void> {
    const verifier = this.opts.verifier;
    if (!verifier) return;
    const principal = await verifier.principal(authorization);
    if (principal.kind !== 'admin') {
      throw new ConnectError(
        `${describe(principal)} may not read metrics: they are for admin`,
        Code.PermissionDenied,
      );
    }
  }

  private afterAuthentication<D extends DescMessage>(
    principal: Principal,
    method: DescMethod & {input: D},
    message: MessageShape<D> | undefined,
  ): Principal {
    if (this.opts.verifier) {
      const path = `${method.parent.typeName}/${method.name}`;
      if (!mayCall(path, principal)) {
        const access = ACCESS_TABLE[path];
        throw new ConnectError(
          access
            ? `${describe(principal)} may not call ${method.name}: it is for ${ACCESS_WHO[access]}`
            : `${method.name} is not in the access table, so no one may call it`,
          Code.PermissionDenied,
        );
      }
      this.opts.limiter?.take(principal, method);
    }
    if (message) validateRequest(method.input, message);
    return principal;
  }
}

function certifiedService(name: string): Principal {
  if (!(name in SERVICE_PORTS)) {
    throw new ConnectError(
      'the client certificate names no Agora service',
      Code.Unauthenticated,
    );
  }
  return {
    kind: 'service',
    service: name as ServiceName,
    subject: `spiffe://agora/service/${name}`,
  };
}

/** A service token must name the service its TLS certificate names. */
function matchCertificate(
  principal: Principal,
  peerService: string | undefined,
): Principal {
  if (
    peerService &&
    principal.kind === 'service' &&
    principal.service !== peerService
  ) {
    throw new ConnectError(
      `the token names the ${principal.service} service but the client certificate the ${peerService} service`,
      Code.Unauthenticated,
    );
  }
  return principal;
}

function describe(p: Principal): string {
  switch (p.kind) {
    case 'customer':
      return 'a customer';
    case 'admin':
      return 'an admin';
    case 'service':
      return `the ${p.service} service`;
    case 'none':
      return 'a caller without an Agora role';
  }
}
