/*
 * A node's IP fixed by flag, as the kubelet's `--node-ip`: every node of the process reports it as
 * its InternalIP (instead of a simulated unique one from `--node-ip-pool`), so the address a
 * user's metrics-server and API server dial is where the nodes' kubelet endpoints listen (in a
 * cluster: the engine pod's IP). As on a kubelet, a node's IP is also its pods' hostIP/hostIPs and
 * the IP of its hostNetwork pods. The nodes of one process then share the address (kubemark's
 * hollow nodes share one too, 192.0.2.2 for all); nothing in the control plane needs Node
 * addresses to be unique, and the port tells the nodes apart.
 */
import { BlockList, isIP } from "node:net";
import { BadInputError } from "../kernel/errors.ts";

function blockList(ranges: readonly [string, number, "ipv4" | "ipv6"][]): BlockList {
  const list = new BlockList();
  for (const [net, prefix, type] of ranges) list.addSubnet(net, prefix, type);
  return list;
}

/**
 * The kubelet's ValidateNodeIP refusals, in its order (IPv4-mapped IPv6 addresses included), but
 * for loopback: see {@link nodeIpProblem}.
 */
const REFUSED: readonly { reason: string; list: BlockList }[] = [
  {
    reason: "a multicast address",
    list: blockList([
      ["224.0.0.0", 4, "ipv4"],
      ["ff00::", 8, "ipv6"],
    ]),
  },
  {
    reason: "a link-local unicast address",
    list: blockList([
      ["169.254.0.0", 16, "ipv4"],
      ["fe80::", 10, "ipv6"],
    ]),
  },
  {
    reason: "an all zeros address",
    list: blockList([
      ["0.0.0.0", 32, "ipv4"],
      ["::", 128, "ipv6"],
    ]),
  },
];

/**
 * Why `ip` cannot be a node's IP (the kubelet's ValidateNodeIP rules: not multicast, link-local or
 * all zeros), or undefined when it can. Two of the kubelet's checks are left out: a loopback address
 * is accepted (the kubelet refuses it because other machines cannot reach it; hollow nodes on one
 * machine beside a local API server are reached there, as local fleets' endpoints on 127.0.0.1
 * are), and so is an address on none of this machine's interfaces (a hollow node's IP may be
 * simulated).
 */
export function nodeIpProblem(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return "not an IP address";
  const type = family === 4 ? "ipv4" : "ipv6";
  return REFUSED.find((r) => r.list.check(ip, type))?.reason;
}

/** `--node-ip`: the address, trimmed; a BadInputError naming the problem and the fix otherwise. */
export function parseNodeIp(value: string, flag = "--node-ip"): string {
  const ip = value.trim();
  const problem = nodeIpProblem(ip);
  if (problem) {
    throw new BadInputError(
      `${flag} must be an IP address the API server can reach the nodes at, got "${value}" (${problem})`,
      "in a cluster pass the pod's IP (the downward API's status.podIP); leave it out to give each node a simulated address from --node-ip-pool",
    );
  }
  return ip;
}
