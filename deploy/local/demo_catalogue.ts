/**
 * The demo catalogue `npm start` seeds into an empty system, through the public RPCs
 * only (AdjustStock and SetBasePrice): a SKU becomes sellable by API alone.
 */
import {Code, ConnectError} from '@connectrpc/connect';
import {StockAdjustmentReason} from '../../gen/agora/inventory/v1/inventory_pb.js';
import {InventoryService} from '../../gen/agora/inventory/v1/inventory_service_pb.js';
import {PricingService} from '../../gen/agora/pricing/v1/pricing_service_pb.js';
import {loadTls, type TlsFiles} from '../../services/common/auth/dev_ca.js';
import {derivedId} from '../../services/common/idempotency/derived_id.js';
import {createGrpcClient} from '../../services/common/rpc/grpc_client.js';

export const DEMO_SKUS = [
  {
    sku: 'AGORA-TEE',
    name: 'Agora T-shirt',
    usd: '19.99',
    eur: '18.50',
    stock: 100,
    threshold: 10,
  },
  {
    sku: 'AGORA-MUG',
    name: 'Agora mug',
    usd: '12.50',
    eur: '11.90',
    stock: 50,
    threshold: 5,
  },
  {
    sku: 'AGORA-CAP',
    name: 'Agora cap',
    usd: '24.00',
    eur: '22.00',
    stock: 25,
    threshold: 5,
  },
  {
    sku: 'AGORA-SOCKS',
    name: 'Agora socks',
    usd: '7.99',
    eur: '7.49',
    stock: 200,
    threshold: 20,
  },
] as const;

/** Seeds the catalogue unless it is there already; returns true when it seeded. */
export async function seedDemoCatalogue(
  pricingAddress: string,
  inventoryAddress: string,
  /** An admin's `authorization` header value. */
  admin: string,
  /** When the services run mutual TLS: the client certificate to present. */
  tls?: TlsFiles,
): Promise<boolean> {
  const opts = {
    authorization: () => admin,
    tls: tls && loadTls(tls),
  };
  const pricing = createGrpcClient(PricingService, pricingAddress, opts);
  const inventory = createGrpcClient(InventoryService, inventoryAddress, opts);
  try {
    try {
      await pricing.getPrices({
        skus: DEMO_SKUS.map(s => s.sku),
        currencyCode: 'USD',
      });
      return false; // priced already: the database is not empty
    } catch (err) {
      if (!(err instanceof ConnectError) || err.code !== Code.NotFound)
        throw err;
    }
    for (const item of DEMO_SKUS) {
      // Derived request ids: seeding twice (a crash halfway) restocks once.
      await inventory.adjustStock({
        requestId: derivedId('demo-seed', item.sku),
        sku: item.sku,
        delta: item.stock,
        reason: StockAdjustmentReason.RESTOCK,
        note: 'demo catalogue',
      });
      await inventory.setLowStockThreshold({
        sku: item.sku,
        threshold: item.threshold,
      });
      await pricing.setBasePrice({
        sku: item.sku,
        price: {currencyCode: 'USD', amount: item.usd},
      });
      await pricing.setBasePrice({
        sku: item.sku,
        price: {currencyCode: 'EUR', amount: item.eur},
      });
    }
    return true;
  } finally {
    pricing.close();
    inventory.close();
  }
}
