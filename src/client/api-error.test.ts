import { test } from "node:test";
import assert from "node:assert/strict";
import { KubeApiError, errorFromResponse, isAlreadyExists, isConflict, isNotFound } from "./api-error.ts";
import { KubemarkError, type ErrorCode } from "../kernel/errors.ts";

const SERVER = "https://127.0.0.1:6443";

function status(code: number, reason: string, message: string, details?: object): string {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    message,
    reason,
    code,
    details,
  });
}

test("errorFromResponse reads reason and message from a Status body", () => {
  const err = errorFromResponse(
    "POST",
    "/api/v1/nodes",
    409,
    status(409, "AlreadyExists", 'nodes "hollow-0" already exists', { name: "hollow-0", kind: "nodes" }),
    undefined,
    SERVER,
  );
  assert.ok(err instanceof KubeApiError && err instanceof KubemarkError);
  assert.equal(err.status, 409);
  assert.equal(err.code, "CONFLICT");
  assert.equal(err.reason, "AlreadyExists");
  assert.equal(err.method, "POST");
  assert.equal(err.path, "/api/v1/nodes");
  assert.equal(err.message, 'POST /api/v1/nodes: 409 AlreadyExists: nodes "hollow-0" already exists');
  assert.equal(err.retryAfterSeconds, undefined);
});

test("errorFromResponse maps HTTP statuses to error codes", () => {
  const cases: Array<[number, ErrorCode]> = [
    [400, "BAD_INPUT"],
    [401, "UNAUTHORIZED"],
    [403, "FORBIDDEN"],
    [404, "NOT_FOUND"],
    [409, "CONFLICT"],
    [410, "GONE"],
    [422, "BAD_INPUT"],
    [429, "API_ERROR"],
    [500, "API_ERROR"],
    [503, "API_ERROR"],
  ];
  for (const [code, want] of cases) {
    const err = errorFromResponse(
      "GET",
      "/api/v1/pods",
      code,
      status(code, "Whatever", "x"),
      undefined,
      SERVER,
    );
    assert.equal(err.code, want, `status ${code}`);
    assert.equal(err.status, code);
  }
});

test("errorFromResponse hints at the fix for 401 and 403", () => {
  const unauthorized = errorFromResponse(
    "GET",
    "/api",
    401,
    status(401, "Unauthorized", "Unauthorized"),
    undefined,
    SERVER,
  );
  assert.match(unauthorized.hint ?? "", /127\.0\.0\.1:6443.*kubeconfig/);
  const forbidden = errorFromResponse(
    "GET",
    "/api",
    403,
    status(403, "Forbidden", "nope"),
    undefined,
    SERVER,
  );
  assert.match(forbidden.hint ?? "", /RBAC/);
  const notFound = errorFromResponse("GET", "/api", 404, status(404, "NotFound", "gone"), undefined, SERVER);
  assert.equal(notFound.hint, undefined);
});

test("a 403 for a namespace being deleted says so, not RBAC", () => {
  // What kube-apiserver v1.36 answers a create in a namespace being deleted.
  const body = status(
    403,
    "Forbidden",
    'serviceaccounts "hollow-node" is forbidden: unable to create new content in namespace kubemark because it is being terminated',
    {
      name: "hollow-node",
      kind: "serviceaccounts",
      causes: [
        {
          reason: "NamespaceTerminating",
          message: "namespace kubemark is being terminated",
          field: "metadata.namespace",
        },
      ],
    },
  );
  const err = errorFromResponse(
    "PATCH",
    "/api/v1/namespaces/kubemark/serviceaccounts/hollow-node",
    403,
    body,
    undefined,
    SERVER,
  );
  assert.equal(err.code, "FORBIDDEN");
  assert.match(err.hint ?? "", /namespace is being deleted.*kubectl get namespace/);
  assert.doesNotMatch(err.hint ?? "", /RBAC/);
});

test("errorFromResponse takes Retry-After from the header, else from the Status details", () => {
  const body = status(429, "TooManyRequests", "too many requests, please try again later", {
    retryAfterSeconds: 3,
  });
  const cases: Array<[string | undefined, string, number | undefined]> = [
    [undefined, body, 3],
    ["7", body, 7],
    ["7", status(503, "ServiceUnavailable", "x"), 7],
    // An HTTP-date (or other unparsable) header falls back to the details.
    ["Wed, 21 Oct 2026 07:28:00 GMT", body, 3],
    // An empty header is no header, not "retry at once".
    ["", body, 3],
    [undefined, status(503, "ServiceUnavailable", "x"), undefined],
  ];
  for (const [header, text, want] of cases) {
    const err = errorFromResponse("GET", "/api/v1/nodes", 429, text, header, SERVER);
    assert.equal(err.retryAfterSeconds, want, `header ${header}`);
  }
});

test("errorFromResponse keeps a body that is not a Status object as the message", () => {
  const cases: Array<[string, RegExp]> = [
    ["<html>502 Bad Gateway</html>", /^GET \/api: 502: <html>502 Bad Gateway<\/html>$/],
    ["x".repeat(1_000), /^GET \/api: 502: x{200}$/],
    ["", /^GET \/api: 502\s*$/],
    ["null", /^GET \/api: 502/],
    ["[]", /^GET \/api: 502/],
    ['"upstream down"', /^GET \/api: 502/],
  ];
  for (const [body, want] of cases) {
    const err = errorFromResponse("GET", "/api", 502, body, undefined, SERVER);
    assert.ok(err instanceof KubeApiError, JSON.stringify(body));
    assert.match(err.message, want);
    assert.equal(err.reason, undefined);
  }
});

test("isAlreadyExists, isNotFound and isConflict tell 404 and the two kinds of 409 apart", () => {
  const make = (s: number, reason?: string): KubeApiError =>
    errorFromResponse("PUT", "/x", s, reason ? status(s, reason, "m") : "", undefined, SERVER);
  const cases: Array<[unknown, boolean, boolean, boolean]> = [
    // error, isAlreadyExists, isNotFound, isConflict
    [make(409, "AlreadyExists"), true, false, false],
    [make(409, "Conflict"), false, false, true],
    [make(409), false, false, true],
    [make(404, "NotFound"), false, true, false],
    [make(500, "InternalError"), false, false, false],
    [new Error("409"), false, false, false],
    [undefined, false, false, false],
  ];
  for (const [err, exists, notFound, conflict] of cases) {
    const name = err instanceof Error ? err.message : String(err);
    assert.equal(isAlreadyExists(err), exists, `isAlreadyExists ${name}`);
    assert.equal(isNotFound(err), notFound, `isNotFound ${name}`);
    assert.equal(isConflict(err), conflict, `isConflict ${name}`);
  }
});
