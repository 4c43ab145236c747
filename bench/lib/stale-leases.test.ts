import { test } from "node:test";
import assert from "node:assert/strict";
import { staleLeaseNames, type NamedLease } from "./stale-leases.ts";

const NOW = Date.parse("2026-01-01T00:01:00Z");
const lease = (name: string, renewTime?: string): NamedLease => ({
  metadata: { name },
  ...(renewTime === undefined ? {} : { spec: { renewTime } }),
});

test("a Lease is missed when not renewed within the duration, or never renewed; only the prefix's count", () => {
  const leases = [
    lease("b-hn-10-0", "2026-01-01T00:00:50Z"), // 10 s old
    lease("b-hn-10-1", "2026-01-01T00:00:20Z"), // exactly 40 s: not yet
    lease("b-hn-10-2", "2026-01-01T00:00:19.999Z"), // just over 40 s
    lease("b-hn-10-3"), // never renewed
    lease("b-hn-10-4", "2026-01-01T00:02:00Z"), // renewed "in the future" (clock skew): fresh
    lease("b-hn-10-5", "garbage"), // unreadable: not counted
    lease("b-km-10-0", "2025-12-31T00:00:00Z"), // another system's
  ];
  assert.deepEqual(staleLeaseNames(leases, "b-hn-10-", 40_000, NOW), ["b-hn-10-2", "b-hn-10-3"]);
  assert.deepEqual(staleLeaseNames(leases, "b-", 40_000, NOW), ["b-hn-10-2", "b-hn-10-3", "b-km-10-0"]);
});
