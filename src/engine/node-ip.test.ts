import assert from "node:assert/strict";
import { test } from "node:test";
import { KubemarkError } from "../kernel/errors.ts";
import { nodeIpProblem, parseNodeIp } from "./node-ip.ts";

test("nodeIpProblem: the kubelet's ValidateNodeIP refusals, loopback and addresses of other hosts accepted", () => {
  const cases: [string, string | undefined][] = [
    ["10.244.0.7", undefined],
    ["192.0.2.2", undefined],
    ["fd00::7", undefined],
    ["2001:db8::1", undefined],
    ["node-1", "not an IP address"],
    ["", "not an IP address"],
    ["10.244.0.7/24", "not an IP address"],
    ["127.0.0.1", undefined],
    ["::1", undefined],
    ["::ffff:239.1.1.1", "a multicast address"],
    ["239.0.0.254", "a multicast address"],
    ["ff02::1", "a multicast address"],
    ["169.254.0.0", "a link-local unicast address"],
    ["fe80::1", "a link-local unicast address"],
    ["0.0.0.0", "an all zeros address"],
    ["::", "an all zeros address"],
  ];
  for (const [ip, want] of cases) assert.equal(nodeIpProblem(ip), want, ip);
});

test("parseNodeIp trims; a refused address is a BAD_INPUT naming the flag, the value, the cause and the fix", () => {
  assert.equal(parseNodeIp(" 10.244.0.7 "), "10.244.0.7");
  assert.throws(
    () => parseNodeIp("0.0.0.0"),
    (err: unknown) =>
      err instanceof KubemarkError &&
      err.code === "BAD_INPUT" &&
      err.message ===
        '--node-ip must be an IP address the API server can reach the nodes at, got "0.0.0.0" (an all zeros address)' &&
      /status\.podIP/.test(err.hint ?? ""),
  );
});
