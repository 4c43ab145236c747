/*
 * Volume sizes: a PVC's storage request in bytes, the hollow driver's rounding, and the quantity
 * the external-provisioner writes for the bytes a driver returns (BinarySI). Pure.
 */

/** The hollow driver allocates whole MiB, as block-storage drivers round to their allocation unit. */
export const ALLOCATION_UNIT_BYTES = 1024 * 1024;

const SUFFIX: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  m: 1e-3,
};

/** The bytes of a quantity (`1Gi`, `500M`, `1.5Gi`, `1e9`), rounded up to a whole byte; undefined when it is none. */
export function quantityBytes(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([+]?\d+(?:\.\d*)?|[+]?\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?)$/.exec(
    q.trim(),
  );
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : SUFFIX[m[3] ?? ""]!);
  return Number.isFinite(n) ? Math.ceil(n) : undefined;
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
