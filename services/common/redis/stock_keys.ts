/**
 * Inventory's Redis mirror is a published read model: other services (Pricing) read live
 * stock from it instead of calling Inventory. These names are its contract.
 *
 * - `<ns>:stock:<sku>`: hash with totals over all warehouses (`on_hand`, `reserved`,
 *   `available`) and per warehouse `w:<id>:on_hand|reserved|threshold|version`.
 * - `<ns>:stock-changes`: pub/sub channel; one JSON message per changed level
 *   (`{sku, warehouseId, onHand, reserved, threshold, version, updatedAt}`).
 */

export function stockKey(namespace: string, sku: string): string {
  return `${namespace}:stock:${sku}`;
}

export function stockChangesChannel(namespace: string): string {
  return `${namespace}:stock-changes`;
}
