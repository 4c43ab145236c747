import { test } from "node:test";
import assert from "node:assert/strict";
import { PodIpAllocator, cidrSize, formatIp, nthHost, nthSubnet, parseCidr, type Cidr } from "./ip-pool.ts";
import { BadInputError } from "../kernel/errors.ts";

const show = (c: Cidr | undefined): string | undefined => (c ? `${formatIp(c.base)}/${c.prefix}` : undefined);

test("parseCidr reads IPv4 CIDRs and masks off host bits", () => {
  const cases: Array<[string, string]> = [
    ["10.0.0.0/16", "10.0.0.0/16"],
    ["172.16.0.0/12", "172.16.0.0/12"],
    ["100.64.0.0/10", "100.64.0.0/10"],
    ["10.128.3.0/24", "10.128.3.0/24"],
    ["10.128.3.77/24", "10.128.3.0/24"],
    ["255.255.255.255/30", "255.255.255.252/30"],
    ["128.0.0.0/1", "128.0.0.0/1"],
    [" 192.168.1.0/24 ", "192.168.1.0/24"],
  ];
  for (const [text, want] of cases) assert.equal(show(parseCidr(text, "--pod-ip-pool")), want, text);
});

test("parseCidr rejects what is not an IPv4 CIDR, naming the flag and the value", () => {
  const bad = [
    "",
    "10.0.0.0",
    "10.0.0/16",
    "10.0.0.256/16",
    "10.0.0.0/0",
    "10.0.0.0/31",
    "10.0.0.0/32",
    "fd00::/64",
    "abc",
  ];
  for (const text of bad) {
    assert.throws(
      () => parseCidr(text, "--node-ip-pool"),
      (err: unknown) =>
        err instanceof BadInputError &&
        err.code === "BAD_INPUT" &&
        err.message.startsWith("--node-ip-pool must be an IPv4 CIDR") &&
        err.message.endsWith(`got "${text}"`),
      JSON.stringify(text),
    );
  }
});

test("nthHost counts host addresses from .1 and never returns the network or broadcast address", () => {
  const pool = parseCidr("100.64.0.0/10", "--node-ip-pool");
  const cases: Array<[number, string | undefined]> = [
    [-1, undefined],
    [0, "100.64.0.1"],
    [1, "100.64.0.2"],
    [254, "100.64.0.255"],
    [255, "100.64.1.0"],
    [cidrSize(pool) - 3, "100.127.255.254"],
    [cidrSize(pool) - 2, undefined],
    [cidrSize(pool), undefined],
  ];
  for (const [index, want] of cases) assert.equal(nthHost(pool, index), want, `index ${index}`);

  // A /30 has exactly two host addresses.
  const small = parseCidr("10.0.0.0/30", "x");
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => nthHost(small, i)),
    ["10.0.0.1", "10.0.0.2", undefined, undefined],
  );
});

test("nthSubnet cuts a pool into consecutive subnets", () => {
  const pool = parseCidr("172.16.0.0/12", "--pod-ip-pool");
  const cases: Array<[number, number, string | undefined]> = [
    [24, 0, "172.16.0.0/24"],
    [24, 1, "172.16.1.0/24"],
    [24, 256, "172.17.0.0/24"],
    [24, 4095, "172.31.255.0/24"],
    [24, 4096, undefined],
    [24, -1, undefined],
    [16, 3, "172.19.0.0/16"],
    [12, 0, "172.16.0.0/12"],
    [12, 1, undefined],
    [8, 0, undefined],
  ];
  for (const [prefix, index, want] of cases) {
    assert.equal(show(nthSubnet(pool, prefix, index)), want, `/${prefix} #${index}`);
  }
});

/** Allocates until the allocator says the CIDR is full. */
function drain(alloc: PodIpAllocator): string[] {
  const out: string[] = [];
  for (let ip = alloc.allocate(); ip !== undefined; ip = alloc.allocate()) out.push(ip);
  return out;
}

test("PodIpAllocator hands out unique addresses from .2, skipping network, bridge and broadcast", () => {
  const alloc = new PodIpAllocator(parseCidr("10.128.3.0/24", "spec.podCIDR"));
  const ips = drain(alloc);
  assert.equal(ips[0], "10.128.3.2");
  assert.equal(ips[1], "10.128.3.3");
  assert.equal(ips.at(-1), "10.128.3.254");
  assert.equal(ips.length, 253);
  assert.equal(new Set(ips).size, ips.length, "unique");
  for (const reserved of ["10.128.3.0", "10.128.3.1", "10.128.3.255"])
    assert.ok(!ips.includes(reserved), reserved);
  assert.ok(ips.every((ip) => ip.startsWith("10.128.3.")));
  assert.equal(alloc.allocate(), undefined, "full");
});

test("PodIpAllocator sizes: a /30 has one pod address, a /29 five", () => {
  const cases: Array<[string, string[]]> = [
    ["10.0.0.0/30", ["10.0.0.2"]],
    ["10.0.0.8/29", ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"]],
  ];
  for (const [cidr, want] of cases)
    assert.deepEqual(drain(new PodIpAllocator(parseCidr(cidr, "x"))), want, cidr);
});

test("PodIpAllocator reuses a released address, but not at once", () => {
  const alloc = new PodIpAllocator(parseCidr("10.0.0.0/29", "x"));
  assert.deepEqual(
    [alloc.allocate(), alloc.allocate(), alloc.allocate()],
    ["10.0.0.2", "10.0.0.3", "10.0.0.4"],
  );
  alloc.release("10.0.0.3");
  assert.equal(alloc.allocate(), "10.0.0.5", "next-fit: the just-released address waits");
  assert.equal(alloc.allocate(), "10.0.0.6");
  assert.equal(alloc.allocate(), "10.0.0.3", "after wrapping around, the released address comes back");
  assert.equal(alloc.allocate(), undefined);
  alloc.release("10.0.0.6");
  assert.equal(alloc.allocate(), "10.0.0.6");
  // Releasing what is not in the CIDR changes nothing.
  alloc.release("192.168.0.2");
  assert.equal(alloc.allocate(), undefined);
});

test("PodIpAllocator.claim blocks an address; claims outside the CIDR are refused", () => {
  const alloc = new PodIpAllocator(parseCidr("10.0.0.0/29", "x"));
  assert.equal(alloc.claim("10.0.0.2"), true);
  assert.equal(alloc.claim("10.0.0.4"), true);
  assert.equal(alloc.claim("10.0.1.4"), false);
  assert.deepEqual(drain(alloc), ["10.0.0.3", "10.0.0.5", "10.0.0.6"]);
  alloc.release("10.0.0.4");
  assert.equal(alloc.allocate(), "10.0.0.4");
});
