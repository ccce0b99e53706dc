/**
 * The purchase suite again, with every gRPC port on mutual TLS: the services present
 * their development-CA certificates to each other, Order calls Pricing, Inventory and
 * Payment with no token (its certificate's SAN is its identity), and the tests' clients
 * present a client certificate. Then what the certificate decides.
 */
import {randomUUID} from 'node:crypto';
import {Code, ConnectError} from '@connectrpc/connect';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {localDevCa} from '../../common/process/service_process.js';
import {loadTls} from '../../common/auth/dev_ca.js';
import {createGrpcClient} from '../../common/rpc/grpc_client.js';

process.env.AGORA_TEST_MUTUAL_TLS = '1';
const {sys} = (await import('./purchase.integration.test.js')) as unknown as {
  sys: import('../../common/testing/test_system.js').TestSystem;
};

describe('mutual TLS', () => {
  const address = () => sys.mesh.processes.inventory.grpcAddress;
  const reserve = (client: ReturnType<typeof clientAs>) =>
    client
      .reserveStock({
        reservationId: randomUUID(),
        orderId: randomUUID(),
        lines: [{sku: 'TEE-1', quantity: 1}],
      })
      .then(
        () => 'ok',
        (e: unknown) => Code[ConnectError.from(e).code],
      );
  function clientAs(name: 'order' | 'report' | 'client') {
    const files = localDevCa().files(name);
    return createGrpcClient(InventoryService, address(), {
      retries: 0,
      tls: loadTls(files),
    });
  }

  it('takes the service a certificate names as the caller: Order may reserve, Report may not', async () => {
    const order = clientAs('order');
    const report = clientAs('report');
    const anonymous = clientAs('client');
    expect(await reserve(order)).toBe('ok');
    expect(await reserve(report)).toBe('PermissionDenied');
    expect(await reserve(anonymous)).toBe('Unauthenticated');
    for (const c of [order, report, anonymous]) c.close();
  });

  it('refuses a client without a certificate', async () => {
    const plain = createGrpcClient(InventoryService, address(), {retries: 0});
    expect(await reserve(plain)).toBe('Unavailable');
    plain.close();
  });
});
