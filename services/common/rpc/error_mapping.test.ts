import {Code} from '@connectrpc/connect';
import pg from 'pg';
import {ErrorInfoSchema} from '../../../gen/google/rpc/error_details_pb.js';
import {DomainError, UnavailableError} from '../errors/domain_error.js';
import {toConnectError} from './error_mapping.js';

/** An error as node-postgres builds it from a server ErrorResponse. */
function pgError(code: string, message: string): Error {
  const err = new pg.DatabaseError(message, message.length, 'error');
  err.code = code;
  err.severity = code.startsWith('57P') ? 'FATAL' : 'ERROR';
  return err;
}

/** A Node system error as net.Socket emits it. */
function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), {
    code,
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port: 5432,
  });
}

const ADDRESS = /\d+\.\d+\.\d+\.\d+|localhost|:\d{2,5}\b|5432|6379/;
const SQL = /select|update|insert|from |where /i;

describe('toConnectError() for dependency failures (issue 8: "dependency failures surface as INTERNAL")', () => {
  it.each([
    [
      'a connection ended by pg_terminate_backend (57P01)',
      pgError('57P01', 'terminating connection due to administrator command'),
    ],
    ['a connection exception (08006)', pgError('08006', 'connection failure')],
    [
      'too many connections (53300)',
      pgError('53300', 'sorry, too many clients already'),
    ],
    [
      'PostgreSQL refusing connections (ECONNREFUSED)',
      socketError('ECONNREFUSED'),
    ],
    ['a reset socket (ECONNRESET)', socketError('ECONNRESET')],
    ['a connect that timed out (ETIMEDOUT)', socketError('ETIMEDOUT')],
    [
      "node-postgres' lost connection",
      new Error('Connection terminated unexpectedly'),
    ],
    [
      "pg-pool's acquire timeout",
      new Error('timeout exceeded when trying to connect'),
    ],
    ['an ioredis command timeout', new Error('Command timed out')],
    [
      'ioredis with Redis down and no offline queue',
      new Error(
        "Stream isn't writeable and enableOfflineQueue options is false",
      ),
    ],
    [
      "ioredis' retries used up",
      Object.assign(
        new Error(
          'Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.',
        ),
        {name: 'MaxRetriesPerRequestError'},
      ),
    ],
    [
      'a lost connection wrapped as the cause of another error',
      new Error('could not save the order', {
        cause: pgError('57P01', 'terminating connection'),
      }),
    ],
  ])('answers UNAVAILABLE without addresses for %s', (_what, err) => {
    const mapped = toConnectError(err);
    expect(mapped.code).toBe(Code.Unavailable);
    expect(mapped.rawMessage).not.toMatch(ADDRESS);
    expect(mapped.rawMessage).toMatch(/retry/);
    // The cause stays for the service's log.
    expect(mapped.cause).toBe(err);
  });

  it('answers DEADLINE_EXCEEDED naming the statement timeout (57014), without the SQL', () => {
    const mapped = toConnectError(
      pgError('57014', 'canceling statement due to statement timeout'),
    );
    expect(mapped.code).toBe(Code.DeadlineExceeded);
    expect(mapped.rawMessage).toMatch(/statement timeout/);
    expect(mapped.rawMessage).not.toMatch(SQL);
  });

  it('answers DEADLINE_EXCEEDED naming the lock timeout (55P03)', () => {
    const mapped = toConnectError(
      pgError('55P03', 'canceling statement due to lock timeout'),
    );
    expect(mapped.code).toBe(Code.DeadlineExceeded);
    expect(mapped.rawMessage).toMatch(/lock timeout/);
  });

  it('answers DEADLINE_EXCEEDED when PostgreSQL ended a transaction left idle (25P03)', () => {
    const mapped = toConnectError(
      pgError(
        '25P03',
        'terminating connection due to idle-in-transaction timeout',
      ),
    );
    expect(mapped.code).toBe(Code.DeadlineExceeded);
  });

  it('still answers INTERNAL, with no internals, for a constraint violation (a bug, not an outage)', () => {
    const mapped = toConnectError(
      pgError('23514', 'new row violates check constraint "stock_reserved"'),
    );
    expect(mapped.code).toBe(Code.Internal);
    expect(mapped.rawMessage).toBe('internal error; see the service log');
  });

  it('keeps the kind of a DomainError whose cause is a dependency failure', () => {
    const mapped = toConnectError(
      new UnavailableError('Pricing could not be reached; retry', {
        cause: socketError('ECONNREFUSED'),
      }),
    );
    expect(mapped.code).toBe(Code.Unavailable);
    expect(mapped.rawMessage).toBe('Pricing could not be reached; retry');
  });

  it('maps an internal DomainError that wraps a lost connection to UNAVAILABLE', () => {
    const mapped = toConnectError(
      new DomainError(
        'internal',
        'step failed',
        {},
        {
          cause: new Error('Connection terminated unexpectedly'),
        },
      ),
    );
    expect(mapped.code).toBe(Code.Unavailable);
  });

  it('removes a peer address relayed in an UNAVAILABLE message and its details', () => {
    const mapped = toConnectError(
      new DomainError(
        'unavailable',
        'inventory unavailable: 14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50053 (also [::1]:50053, localhost:50053)',
        {peer: 'inventory', last: 'connect ECONNREFUSED 10.0.3.7:50053'},
      ),
    );
    expect(mapped.code).toBe(Code.Unavailable);
    expect(mapped.rawMessage).toMatch(/^inventory unavailable: /);
    expect(mapped.rawMessage).not.toMatch(ADDRESS);
    expect(mapped.rawMessage).not.toMatch(/::1/);
    const [info] = mapped.findDetails(ErrorInfoSchema);
    expect(info.metadata.peer).toBe('inventory');
    expect(info.metadata.last).toBe('connection failed <address>');
  });
});
