/*
 * Volume sizes: a PVC's storage request in bytes, the hollow driver's rounding, and the quantity
 * the external-provisioner writes for the bytes a driver returns (BinarySI). Pure.
 */
import { quantityNumber } from "../quantity.ts";

/** The hollow driver allocates whole MiB, as block-storage drivers round to their allocation unit. */
export const ALLOCATION_UNIT_BYTES = 1024 * 1024;

/** The bytes of a quantity (`1Gi`, `500M`, `1.5Gi`, `1e9`), rounded up to a whole byte; undefined when it is none. */
export function quantityBytes(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const n = quantityNumber(q);
  return n === undefined ? undefined : Math.ceil(n);
}

/** What the hollow driver allocates for a request: the request rounded up to the allocation unit (at least one). */
export function allocatedBytes(requestBytes: number): number {
  return Math.max(1, Math.ceil(requestBytes / ALLOCATION_UNIT_BYTES)) * ALLOCATION_UNIT_BYTES;
}

/** The canonical BinarySI quantity of a byte count (`resource.NewQuantity(b, BinarySI).String()`). */
export function bytesQuantity(bytes: number): string {
  if (bytes < 1024) return String(bytes);
  const suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
  let n = bytes;
  let i = 0;
  while (i < suffixes.length - 1 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n}${suffixes[i]}`;
}
