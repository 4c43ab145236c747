import { test } from "node:test";
import assert from "node:assert/strict";
import { KubemarkError } from "../kernel/errors.ts";
import { candidateBases, KUBELET_PORT_WINDOW, pickKubeletBlock } from "./kubelet-ports.ts";

test("blocks sit below the ephemeral range, aligned, never on another block of the fleet", () => {
  const all = candidateBases(1000, []);
  assert.equal(all[0], 11_000);
  assert.equal(all.length, 21, "11,000-31,999 in blocks of 1,000");
  assert.ok(all.every((b) => b + 999 <= KUBELET_PORT_WINDOW.last && b + 999 < 32_768));
  assert.deepEqual(candidateBases(1000, [[11_500, 12_499]]).slice(0, 2), [13_000, 14_000]);
  assert.deepEqual(candidateBases(10_000, []), [11_000, 21_000]);
  assert.deepEqual(candidateBases(30_000, []), [], "too big for the window");
});

test("the control plane's well-known ports are never in a block", () => {
  const window = { first: 2000, last: 11_000 };
  for (const base of candidateBases(100, [], window)) {
    const end = base + 99;
    for (const p of [2379, 2380, 2381, 6443, 10248, 10250, 10259])
      assert.ok(p < base || p > end, `${p} in ${base}-${end}`);
  }
});

test("pickKubeletBlock: the first block whose ports are all free; none: PORT_IN_USE naming the fix", async () => {
  const busy = new Set([11_003]);
  const free = (p: number): Promise<boolean> => Promise.resolve(!busy.has(p));
  assert.equal(await pickKubeletBlock(10, [], free), 11_010);
  assert.equal(await pickKubeletBlock(10, [[11_010, 11_019]], free), 11_020);
  await assert.rejects(
    pickKubeletBlock(10, [], () => Promise.resolve(false)),
    (err: unknown) => {
      assert.ok(err instanceof KubemarkError);
      assert.equal(err.code, "PORT_IN_USE");
      assert.match(err.message, /^no 10 free consecutive loopback ports/);
      assert.match(err.hint ?? "", /--nodes-per-pod/);
      return true;
    },
  );
});
