/** Helpers for RPC-level tests. */
import {Code, ConnectError} from '@connectrpc/connect';

/** The status code a call ends with: 'ok', or the gRPC code of its error. */
export async function codeOf(call: Promise<unknown>): Promise<Code | 'ok'> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    return ConnectError.from(err).code;
  }
}
