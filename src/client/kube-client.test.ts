import { test } from "node:test";
import assert from "node:assert/strict";
import { queryString } from "./kube-client.ts";

test("queryString encodes a query object, dropping undefined values", () => {
  const cases: Array<[Parameters<typeof queryString>[0], string]> = [
    [undefined, ""],
    [{}, ""],
    [{ limit: undefined }, ""],
    [{ limit: 500 }, "?limit=500"],
    [{ watch: 1, allowWatchBookmarks: true }, "?watch=1&allowWatchBookmarks=true"],
    [
      { labelSelector: "kubemark=true,role in (a,b)" },
      "?labelSelector=kubemark%3Dtrue%2Crole%20in%20(a%2Cb)",
    ],
    [
      { fieldSelector: "spec.nodeName=hollow-0", continue: undefined, limit: 0 },
      "?fieldSelector=spec.nodeName%3Dhollow-0&limit=0",
    ],
    [{ "a&b": "c=d", dryRun: false }, "?a%26b=c%3Dd&dryRun=false"],
    [{ resourceVersion: "" }, "?resourceVersion="],
  ];
  for (const [query, want] of cases) {
    assert.equal(queryString(query), want, JSON.stringify(query));
  }
});
