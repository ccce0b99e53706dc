/**
 * Every PostgreSQL connection of the mesh terminated under load (pg_terminate_backend,
 * as a failover or an operator does it): the real five processes on the real
 * PostgreSQL. Before issue 8 this crashed Inventory and Payment (a connection checked
 * out for a transaction had no 'error' listener) and answered INTERNAL.
 */
import {randomUUID} from 'node:crypto';
import {Code, ConnectError} from '@connectrpc/connect';
import pg from 'pg';
import {StockAdjustmentReason} from '../../../gen/agora/inventory/v1/inventory_pb.js';
import {OrderState} from '../../../gen/agora/order/v1/order_pb.js';
import {ADMIN_PG} from '../testing/isolation.js';
import {startTestSystem} from '../testing/test_system.js';

const sys = await startTestSystem('pg_termination', {
  AGORA_ORDER_RECOVERY_MS: '1000',
});
// The test's own pool loses its connections too; without a listener that would end
// the test process, exactly the defect under test.
sys.db.on('error', () => undefined);
afterAll(() => sys.stop(), 60_000);

const database = new URL(sys.databaseUrl).pathname.slice(1);
const ADDRESS = /\d+\.\d+\.\d+\.\d+|localhost|:\d{2,5}\b/;
const SQL = /\b(select|insert|update|delete)\b/i;

interface Outcome {
  rpc: string;
  code: Code | 'ok';
  message: string;
  requestId?: string;
}

async function outcome(
  rpc: string,
  call: Promise<unknown>,
  requestId?: string,
): Promise<Outcome> {
  try {
    await call;
    return {rpc, code: 'ok', message: '', requestId};
  } catch (err) {
    if (err instanceof ConnectError)
      return {rpc, code: err.code, message: err.rawMessage, requestId};
    throw err;
  }
}

const SKU = 'PGTERM-1';

function buy(requestId: string) {
  return sys.order.createOrder({
    requestId,
    customerId: 'alice',
    currencyCode: 'USD',
    lines: [{sku: SKU, quantity: 1}],
    paymentToken: 'tok_visa',
  });
}

/** One call of each kind against Inventory, Payment and Order. */
function oneRound(): Array<Promise<Outcome>> {
  const paymentId = randomUUID();
  const requestId = randomUUID();
  return [
    outcome('inventory.GetStock', sys.inventory.getStock({sku: SKU})),
    outcome(
      'inventory.AdjustStock',
      sys.inventory.adjustStock({
        requestId: randomUUID(),
        sku: SKU,
        delta: 1,
        reason: StockAdjustmentReason.RESTOCK,
      }),
    ),
    outcome(
      'payment.AuthorizePayment',
      sys.payment.authorizePayment({
        paymentId,
        orderId: `pgterm-${paymentId}`,
        amount: {currencyCode: 'USD', amount: '1.00'},
        paymentToken: 'tok_visa',
        capture: true,
      }),
    ),
    outcome('order.CreateOrder', buy(requestId), requestId),
  ];
}

/** Terminates every backend connected to the test database but the caller's own. */
async function terminateAll(): Promise<number> {
  const admin = new pg.Client({connectionString: ADMIN_PG});
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const {rows} = await admin.query<{n: string}>(
      `select count(pg_terminate_backend(pid)) as n from pg_stat_activity
        where datname = $1 and pid <> pg_backend_pid()`,
      [database],
    );
    return Number(rows[0].n);
  } finally {
    await admin.end();
  }
}

beforeAll(async () => {
  await sys.inventory.adjustStock({
    requestId: randomUUID(),
    sku: SKU,
    delta: 100_000,
    reason: StockAdjustmentReason.RESTOCK,
  });
  await sys.pricing.setBasePrice({
    sku: SKU,
    price: {currencyCode: 'USD', amount: '2.00'},
  });
}, 60_000);

describe('every PostgreSQL connection terminated under load (issue 8: "one termination of the services\' PostgreSQL connections under load crashed Inventory and Payment")', () => {
  it('survives the termination of every PostgreSQL connection under load: no process exits, calls answer UNAVAILABLE (never INTERNAL) without addresses, calls after succeed, failed CreateOrder ids stay retryable', async () => {
    const outcomes: Outcome[] = [];
    let loading = true;
    // Sixteen callers, each issuing one round after another while the fault happens.
    const callers = Array.from({length: 16}, async () => {
      while (loading) outcomes.push(...(await Promise.all(oneRound())));
    });
    await new Promise(r => setTimeout(r, 1500));
    let terminated = 0;
    // Repeatedly for two seconds, so some land inside statements and transactions.
    for (let i = 0; i < 20; i++) {
      terminated += await terminateAll();
      await new Promise(r => setTimeout(r, 100));
    }
    await new Promise(r => setTimeout(r, 500));
    loading = false;
    await Promise.all(callers);

    expect(terminated).toBeGreaterThan(0);
    for (const [name, p] of Object.entries(sys.mesh.processes)) {
      expect({
        name,
        exitCode: p.child.exitCode,
        signal: p.child.signalCode,
      }).toEqual({name, exitCode: null, signal: null});
    }
    const byCode = new Map<string, number>();
    for (const o of outcomes) {
      const key = `${o.rpc} ${o.code === 'ok' ? 'OK' : Code[o.code]}`;
      byCode.set(key, (byCode.get(key) ?? 0) + 1);
    }
    // Printed so a run shows what the fault did.
    console.log(Object.fromEntries([...byCode].sort()));
    const failed = outcomes.filter(o => o.code !== 'ok');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      // createGrpcClient retries UNAVAILABLE with the same request: a CreateOrder whose
      // first attempt was handed to recovery is then, rightly, still in progress.
      const inProgress =
        f.rpc === 'order.CreateOrder' && /still being placed/.test(f.message);
      expect({rpc: f.rpc, code: f.code, message: f.message}).toEqual({
        rpc: f.rpc,
        code: inProgress ? Code.Aborted : Code.Unavailable,
        message: f.message,
      });
      expect(f.message).not.toMatch(ADDRESS);
      expect(f.message).not.toMatch(SQL);
    }

    // Right after: each kind of call succeeds on its first try (fresh connections).
    const after = await Promise.all(oneRound());
    expect(after.map(o => [o.rpc, o.code])).toEqual(
      after.map(o => [o.rpc, 'ok']),
    );

    // A CreateOrder that answered UNAVAILABLE did not use up its request id: retried
    // with the same id, it ends in a paid order (perhaps after recovery settled it).
    const retried = failed.filter(f => f.rpc === 'order.CreateOrder');
    for (const f of retried) {
      const deadline = Date.now() + 45_000;
      for (;;) {
        const again = await outcome('order.CreateOrder', buy(f.requestId!));
        if (again.code === 'ok') break;
        expect([Code.Unavailable, Code.Aborted]).toContain(again.code);
        if (Date.now() > deadline)
          throw new Error(`request ${f.requestId} still ${Code[again.code]}`);
        await new Promise(r => setTimeout(r, 500));
      }
      const {order} = await buy(f.requestId!);
      expect(order?.state).toBe(OrderState.PAID);
    }
  }, 180_000);
});
