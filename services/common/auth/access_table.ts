/**
 * Who may call what: the one authorization table, read by both ports (grpc-js and the
 * Connect / gRPC-Web edge) through the call pipeline, and printed in the README (a test
 * keeps the two equal). A method missing from the table is refused: new RPCs are closed
 * until someone decides who may call them.
 *
 * Customer rows are allowed here and scoped in the handler: a customer acts only as the
 * token's subject (naming another customer is PERMISSION_DENIED; another customer's order
 * is NOT_FOUND, so existence does not leak).
 */
import type {Principal} from './principal.js';

export type Access =
  /** Reading prices and stock, quoting: any authenticated caller with a role. */
  | 'catalogue'
  /** Orders: customers (their own), admins (any). */
  | 'own_orders'
  /** The purchase saga's steps: only the Order service, and admins for operations. */
  | 'saga'
  /** Catalogue, stock and report administration. */
  | 'admin';

/** Which kinds of caller each access class admits. */
const ADMITS: Record<Access, (p: Principal) => boolean> = {
  catalogue: p => p.kind !== 'none',
  own_orders: p => p.kind === 'customer' || p.kind === 'admin',
  saga: p =>
    p.kind === 'admin' || (p.kind === 'service' && p.service === 'order'),
  admin: p => p.kind === 'admin',
};

/** Every RPC, by full path without the leading slash. */
export const ACCESS_TABLE: Readonly<Record<string, Access>> = {
  'agora.order.v1.OrderService/CreateOrder': 'own_orders',
  'agora.order.v1.OrderService/GetOrder': 'own_orders',
  'agora.order.v1.OrderService/ListOrders': 'own_orders',
  'agora.order.v1.OrderService/CancelOrder': 'own_orders',
  'agora.order.v1.OrderService/RefundOrder': 'own_orders',
  'agora.order.v1.OrderService/WatchOrderEvents': 'own_orders',
  // A pass compares every order, payment and reservation and may refund: operators only.
  'agora.order.v1.OrderService/Reconcile': 'admin',

  'agora.payment.v1.PaymentService/AuthorizePayment': 'saga',
  'agora.payment.v1.PaymentService/CapturePayment': 'saga',
  'agora.payment.v1.PaymentService/VoidPayment': 'saga',
  'agora.payment.v1.PaymentService/RefundPayment': 'saga',
  'agora.payment.v1.PaymentService/GetPayment': 'saga',
  'agora.payment.v1.PaymentService/ListPayments': 'saga',
  // Reconciliation reads it: admins, and the Order service comparing paid orders with
  // captures net of refunds.
  'agora.payment.v1.PaymentService/GetLedgerBalances': 'saga',
  // The reconciler (in the Order service) reads captures and refunds, and checks the
  // ledger; nobody else needs every payment.
  'agora.payment.v1.PaymentService/ScanPayments': 'saga',
  'agora.payment.v1.PaymentService/CheckLedger': 'saga',

  'agora.inventory.v1.InventoryService/ReserveStock': 'saga',
  'agora.inventory.v1.InventoryService/CommitReservation': 'saga',
  'agora.inventory.v1.InventoryService/ReleaseReservation': 'saga',
  'agora.inventory.v1.InventoryService/GetReservation': 'saga',
  'agora.inventory.v1.InventoryService/GetStock': 'catalogue',
  'agora.inventory.v1.InventoryService/BatchGetStock': 'catalogue',
  'agora.inventory.v1.InventoryService/WatchStock': 'catalogue',
  // Order restocks a cancelled order's units (a RETURN adjustment, once per derived id).
  'agora.inventory.v1.InventoryService/AdjustStock': 'saga',
  // The reconciler reads every reservation and checks (and rebuilds) the Redis mirror.
  'agora.inventory.v1.InventoryService/ScanReservations': 'saga',
  'agora.inventory.v1.InventoryService/CheckStockMirror': 'saga',
  'agora.inventory.v1.InventoryService/SetLowStockThreshold': 'admin',
  'agora.inventory.v1.InventoryService/ListLowStockAlerts': 'admin',
  'agora.inventory.v1.InventoryService/WatchLowStockAlerts': 'admin',

  'agora.pricing.v1.PricingService/GetPrices': 'catalogue',
  'agora.pricing.v1.PricingService/CreateQuote': 'catalogue',
  'agora.pricing.v1.PricingService/WatchPrices': 'catalogue',
  'agora.pricing.v1.PricingService/ListPriceHistory': 'catalogue',
  'agora.pricing.v1.PricingService/SetBasePrice': 'admin',
  'agora.pricing.v1.PricingService/CreatePriceRule': 'admin',
  'agora.pricing.v1.PricingService/ListPriceRules': 'admin',
  'agora.pricing.v1.PricingService/DeletePriceRule': 'admin',

  'agora.report.v1.ReportService/StartSalesReportJob': 'admin',
  'agora.report.v1.ReportService/GetReportJob': 'admin',
  'agora.report.v1.ReportService/GetSalesReport': 'admin',
  'agora.report.v1.ReportService/ExportSalesReport': 'admin',
};

/** True when `principal` may call the RPC at `path` ("pkg.Service/Method"). */
export function mayCall(path: string, principal: Principal): boolean {
  const access = ACCESS_TABLE[path];
  return access !== undefined && ADMITS[access](principal);
}

/** The kinds of caller an access class admits, in words (README, error messages). */
export const ACCESS_WHO: Record<Access, string> = {
  catalogue: 'customer, admin, any service',
  own_orders: 'customer (its own orders), admin (any order)',
  saga: 'the Order service, admin',
  admin: 'admin',
};
