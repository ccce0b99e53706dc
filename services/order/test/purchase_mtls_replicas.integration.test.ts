/**
 * The purchase suite and the mutual TLS checks of purchase_mtls.integration.test.ts,
 * through the replica set: 2 replicas of every service behind HAProxy, started by the
 * launcher of `npm run start:replicas` with AGORA_TLS=on. Every client dials HAProxy's
 * frontends, and Order reaches Pricing, Inventory and Payment through them too, so each
 * certificate crosses the balancer (TCP passthrough) before a replica reads its SAN.
 * Then that the balancing is per connection and reaches every replica.
 */
import {randomUUID} from 'node:crypto';
import {Code, ConnectError} from '@connectrpc/connect';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {localDevCa} from '../../common/process/service_process.js';
import {loadTls} from '../../common/auth/dev_ca.js';
import {createGrpcClient} from '../../common/rpc/grpc_client.js';

process.env.AGORA_TEST_SYSTEM = 'replicas';
await import('./purchase_mtls.integration.test.js');
const {sys, REPLICA_PORTS} = await import('./purchase.integration.test.js');

/** Connections HAProxy passed to each inventory replica so far (stats CSV, `stot`). */
async function inventorySessions(): Promise<Record<string, number>> {
  const csv = await (
    await fetch(`http://127.0.0.1:${REPLICA_PORTS.statsPort}/;csv`)
  ).text();
  const [header, ...rows] = csv.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const at = (column: string) => columns.indexOf(column);
  return Object.fromEntries(
    rows
      .map(r => r.split(','))
      .filter(
        f => f[at('pxname')] === 'inventory' && /-\d+$/.test(f[at('svname')]),
      )
      .map(f => [f[at('svname')], Number(f[at('stot')])]),
  );
}

/** A new client as `caller`: one TLS connection, so HAProxy sends it to one replica. */
function inventoryAs(caller: 'order' | 'report') {
  const files = localDevCa().files(caller);
  return createGrpcClient(
    InventoryService,
    sys.mesh.processes.inventory.grpcAddress,
    {
      retries: 0,
      tls: loadTls(files),
    },
  );
}

describe('mutual TLS through HAProxy', () => {
  it('balances per connection over both replicas, and each replica reads the caller from the certificate', async () => {
    const seen: Record<string, Record<string, string>> = {};
    // Round robin: two new connections per caller reach both replicas.
    for (const caller of ['order', 'order', 'report', 'report'] as const) {
      const before = await inventorySessions();
      const client = inventoryAs(caller);
      const result = await client
        .reserveStock({
          reservationId: randomUUID(),
          orderId: randomUUID(),
          lines: [{sku: 'TEE-1', quantity: 1}],
        })
        .then(
          () => 'ok',
          (e: unknown) => Code[ConnectError.from(e).code],
        );
      client.close();
      const after = await inventorySessions();
      const served = Object.keys(after).filter(s => after[s] > before[s]);
      expect(served).toHaveLength(1);
      seen[served[0]] = {...seen[served[0]], [caller]: result};
    }
    expect(seen).toEqual({
      'inventory-1': {order: 'ok', report: 'PermissionDenied'},
      'inventory-2': {order: 'ok', report: 'PermissionDenied'},
    });
  });
});
