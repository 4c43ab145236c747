import { test } from "node:test";
import assert from "node:assert/strict";
import { requestCountsFromText, requestsBetween } from "./request-counts.ts";

const text = (podsPatch: number, vaGets: number): string =>
  [
    "# HELP apiserver_request_total [STABLE] Counter of apiserver requests",
    "# TYPE apiserver_request_total counter",
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"} ${podsPatch}`,
    `apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"} 2`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="storage.k8s.io",resource="volumeattachments",scope="resource",subresource="",verb="GET",version="v1"} ${vaGets}`,
    `apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/healthz",verb="GET",version=""} 50`,
    `apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 3e+00`,
    `apiserver_request_duration_seconds_count{verb="GET",resource="pods"} 99`,
  ].join("\n");

test("requests by verb and resource (with its subresource), summed over codes; non-resource paths left out", () => {
  assert.deepEqual(requestCountsFromText(text(10, 4)), {
    "PATCH pods/status": 12,
    "GET volumeattachments": 4,
    "POST events": 3,
  });
});

test("requests between two readings: the non-zero differences, most first", () => {
  const before = requestCountsFromText(text(10, 4));
  const after = requestCountsFromText(
    text(110, 4) + "\n" + `apiserver_request_total{resource="csinodes",subresource="",verb="PUT"} 7`,
  );
  assert.deepEqual(requestsBetween(before, after), [
    ["PATCH pods/status", 100],
    ["PUT csinodes", 7],
  ]);
});
