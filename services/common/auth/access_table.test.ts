import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {InventoryService} from '../../../gen/agora/inventory/v1/inventory_service_pb.js';
import {OrderService} from '../../../gen/agora/order/v1/order_service_pb.js';
import {PaymentService} from '../../../gen/agora/payment/v1/payment_service_pb.js';
import {PricingService} from '../../../gen/agora/pricing/v1/pricing_service_pb.js';
import {ReportService} from '../../../gen/agora/report/v1/report_service_pb.js';
import {repoRoot} from '../process/service_process.js';
import {ACCESS_TABLE, ACCESS_WHO, mayCall} from './access_table.js';

const SERVICES = [
  OrderService,
  PaymentService,
  InventoryService,
  PricingService,
  ReportService,
];
const PATHS = SERVICES.flatMap(s =>
  s.methods.map(m => `${s.typeName}/${m.name}`),
);

describe('the access table', () => {
  it('has one row for every RPC of the API and none for anything else', () => {
    expect(Object.keys(ACCESS_TABLE).sort()).toEqual([...PATHS].sort());
  });

  it('refuses a method that is not in it, whoever calls', () => {
    expect(
      mayCall('agora.pricing.v1.PricingService/DropAllPrices', {
        kind: 'admin',
        subject: 'ops',
      }),
    ).toBe(false);
  });

  it('is the table the README prints', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const m of readme.matchAll(/^\| `(\w+)\/(\w+)` \| ([^|]+) \|/gm)) {
      rows.set(`${m[1]}/${m[2]}`, m[3].trim());
    }
    const expected = new Map(
      Object.entries(ACCESS_TABLE).map(([path, access]) => [
        path.replace(/^agora\.\w+\.v1\./, ''),
        ACCESS_WHO[access],
      ]),
    );
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(expected));
  });
});
