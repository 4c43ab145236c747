import { test } from "node:test";
import assert from "node:assert/strict";
import { caFingerprint, clusterChange } from "./cluster-identity.ts";
import { CA_A, CA_B } from "./testdata/test-cas.ts";

test("caFingerprint: the first certificate of a bundle, the same however the PEM is spaced", () => {
  const a = caFingerprint(CA_A);
  assert.match(a ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(caFingerprint(Buffer.from(CA_A + CA_B)), a);
  assert.equal(caFingerprint(`\n${CA_A}\n\n`), a);
  assert.notEqual(caFingerprint(CA_B), a);
  assert.equal(caFingerprint(undefined), undefined);
  assert.equal(caFingerprint("not a certificate"), undefined);
});

test("clusterChange: another kube-system UID or CA is another cluster; unknown fields compare as equal", () => {
  const a = caFingerprint(CA_A);
  const b = caFingerprint(CA_B);
  const cases: Array<[string, object | undefined, object, RegExp | undefined]> = [
    [
      "same cluster",
      { kubeSystemUid: "u1", caFingerprint: a },
      { kubeSystemUid: "u1", caFingerprint: a },
      undefined,
    ],
    [
      "recreated cluster",
      { kubeSystemUid: "u1", caFingerprint: a },
      { kubeSystemUid: "u2", caFingerprint: b },
      /UID was u1, now u2/,
    ],
    ["new CA, UID unreadable", { caFingerprint: a }, { caFingerprint: b }, /CA was .*, now /],
    ["nothing recorded", undefined, { kubeSystemUid: "u2" }, undefined],
    [
      "no CA in the kubeconfig now",
      { kubeSystemUid: "u1", caFingerprint: a },
      { kubeSystemUid: "u1" },
      undefined,
    ],
  ];
  for (const [what, recorded, current, want] of cases) {
    const got = clusterChange(recorded, current);
    if (want) assert.match(got ?? "", want, what);
    else assert.equal(got, undefined, what);
  }
});
