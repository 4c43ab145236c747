import { test } from "node:test";
import assert from "node:assert/strict";
import { caFingerprint, clusterChange } from "./cluster-identity.ts";
// Two self-signed test CAs (no keys kept): stand-ins for two clusters' CAs.
const CA_A = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUBuyXZ9peeXRbwThg7WTbWRjZ+fQwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJdGVzdC1jYS14MCAXDTI2MTEzMDExNDExOFoYDzIxMjYxMTA2
MTE0MTE4WjAUMRIwEAYDVQQDDAl0ZXN0LWNhLXgwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASut+tXKswYoU0QqlWpX66frYU98dCZfAegl8i3wrVSh2x1vBE3zLxW
EBiF5T/Bz7A1tS1buumRaeislKBrCmfoo1MwUTAdBgNVHQ4EFgQUwMByLp5JDoIo
DG3+eYfyFIRZANowHwYDVR0jBBgwFoAUwMByLp5JDoIoDG3+eYfyFIRZANowDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAyJwJdiWUzuISAWcwhuVh
9lbZHacQ4UVGCtqmlveRdHsCIC1MSd8AhLZiI4RAWfJbFb8JjleJUeNHNYaqkyfi
58fx
-----END CERTIFICATE-----
`;
const CA_B = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUEIyUKxweWY7ln1wobFmMnMH95+owCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJdGVzdC1jYS15MCAXDTI2MTEzMDExNDExOFoYDzIxMjYxMTA2
MTE0MTE4WjAUMRIwEAYDVQQDDAl0ZXN0LWNhLXkwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARMtyxYVAKoWUKRZ2Mcf/GydUCoSKS6PMw8xAHGcx6wvYXUdPCb1Lc1
HzbFaZ+oiR3bfAYogYEh4xszUQ1TK3Vho1MwUTAdBgNVHQ4EFgQUEA2VVi05KwyT
TRMv6z1x0tBkTOEwHwYDVR0jBBgwFoAUEA2VVi05KwyTTRMv6z1x0tBkTOEwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiB4x98WFGVxwvs2khatcrRB
QQw+hH4KnCITl21fqltYZAIhAJG9H/kplGh8Cz1vwXYaWA6CQ4LYVp/1ondrmCxO
YjEE
-----END CERTIFICATE-----
`;

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
