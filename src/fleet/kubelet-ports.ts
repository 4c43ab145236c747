/*
 * The loopback ports of a local fleet's kubelet endpoints: each engine process (shard) serves
 * one port per node, node i of the shard on its base port + i, so each shard gets a block of
 * `nodesPerShard` consecutive ports. Blocks come from a window below Linux's ephemeral range
 * (32768-60999, where the local control plane's own ports and every outgoing connection's port
 * are drawn) and above the control plane's well-known ports (etcd 2379-2381, the API server
 * 6443, the kubelet and control-plane components 10248-10259); blocks of one fleet never
 * overlap, and a block must be free on this machine (another fleet may run).
 */
import { isPortFree } from "../host/ports.ts";
import { KubemarkError } from "../kernel/errors.ts";

/** Where local kubelet port blocks are taken from. */
export const KUBELET_PORT_WINDOW = { first: 11_000, last: 32_767 } as const;

/** Ports a block must never include, whatever the window (the control plane's well-known ones). */
export const RESERVED_PORTS: ReadonlyArray<readonly [number, number]> = [
  [2379, 2381],
  [6443, 6443],
  [10248, 10259],
];

const overlaps = (a: number, aEnd: number, b: number, bEnd: number): boolean => a <= bEnd && b <= aEnd;

/**
 * The candidate bases of a block of `size` ports, in order: aligned on `size` from the window's
 * start, skipping blocks that overlap `taken` (this fleet's other blocks, [first, last]) or a
 * reserved range. Pure, so the layout is table-tested.
 */
export function candidateBases(
  size: number,
  taken: ReadonlyArray<readonly [number, number]>,
  window: { first: number; last: number } = KUBELET_PORT_WINDOW,
): number[] {
  const out: number[] = [];
  for (let base = window.first; base + size - 1 <= window.last; base += size) {
    const end = base + size - 1;
    if (taken.some(([a, b]) => overlaps(base, end, a, b))) continue;
    if (RESERVED_PORTS.some(([a, b]) => overlaps(base, end, a, b))) continue;
    out.push(base);
  }
  return out;
}

/**
 * A free block of `size` ports not overlapping `taken`: the first candidate whose ports all bind
 * on 127.0.0.1 now. Throws PORT_IN_USE when the window has none.
 */
export async function pickKubeletBlock(
  size: number,
  taken: ReadonlyArray<readonly [number, number]>,
  free: (port: number) => Promise<boolean> = isPortFree,
): Promise<number> {
  for (const base of candidateBases(size, taken)) {
    let ok = true;
    for (let p = base; p < base + size && ok; p++) ok = await free(p);
    if (ok) return base;
  }
  throw new KubemarkError(
    "PORT_IN_USE",
    `no ${size} free consecutive loopback ports for a shard's kubelet endpoints between ${KUBELET_PORT_WINDOW.first} and ${KUBELET_PORT_WINDOW.last}`,
    {
      hint: "run fewer nodes per process (--nodes-per-pod), or stop what listens on those ports (another fleet?)",
    },
  );
}
