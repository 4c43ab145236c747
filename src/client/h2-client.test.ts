import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FakeClock, type Clock } from "../kernel/clock.ts";
import { KubeApiError } from "./api-error.ts";
import { HANDSHAKE_TIMEOUT_MS } from "./h2-connection.ts";
import { KubeClient } from "./kube-client.ts";
import { PROTOBUF_ACCEPT } from "./kube-request.ts";
import { encodeObject, protoWriter, tag } from "./protobuf.ts";
import { NODE } from "./protobuf-types.ts";
import { NO_RETRY } from "./retry.ts";

/*
 * The lean HTTP/2 client carrying ordinary requests (`leanRequests`) and watches on one
 * connection, against Node's own HTTP/2 server (nghttp2: a real HPACK encoder that Huffman-codes
 * status values and enforces flow control): statuses other than the static table's, retry-after,
 * request and response bodies larger than the initial 64 KB windows, protobuf answers told by
 * their magic, timeouts, and a watch line whose character is cut between two DATA frames.
 */

const dir = mkdtempSync(join(tmpdir(), "h2-client-test-"));
let server: Http2SecureServer;
let port = 0;
let sessions = 0;

function answer(stream: ServerHttp2Stream, status: number, body: string | Buffer, extra = {}): void {
  stream.respond({ ":status": status, "content-type": "application/json", ...extra });
  stream.end(body);
}

/** The real API server's protobuf Node watch (test/integration/protobuf.test.ts captured it). */
const nodeWatch = readFileSync(new URL("./testdata/protobuf/node-watch.pb", import.meta.url));

/** A protobuf Status envelope, as the API server answers an error to a client that accepts protobuf. */
function protoStatus(code: number, reason: string, message: string): Buffer {
  const w = protoWriter();
  w.uint32(tag(2, 2)).string("Failure");
  w.uint32(tag(3, 2)).string(message);
  w.uint32(tag(4, 2)).string(reason);
  w.uint32(tag(6, 0)).int32(code);
  return Buffer.from(encodeObject("v1", "Status", w.finish()));
}

/** Protobuf watch answers: the frames cut in two DATA frames, a 403 in protobuf, JSON to a protobuf ask. */
function protoWatch(stream: ServerHttp2Stream, path: string, accept: string): void {
  if (accept !== PROTOBUF_ACCEPT) {
    answer(stream, 400, JSON.stringify({ kind: "Status", code: 400, message: `accept was ${accept}` }));
  } else if (path === "/pwatch-forbidden") {
    stream.respond({ ":status": 403, "content-type": "application/vnd.kubernetes.protobuf" });
    stream.end(protoStatus(403, "Forbidden", 'nodes "x" is forbidden'));
  } else if (path === "/pwatch-json") {
    stream.respond({ ":status": 200, "content-type": "application/json" });
    stream.end(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "json-node" } } })}\n`);
  } else if (path === "/pwatch-garbage") {
    stream.respond({ ":status": 200, "content-type": "application/vnd.kubernetes.protobuf;stream=watch" });
    stream.end(Buffer.from([0, 0, 0, 2, 0x12, 0]));
  } else {
    stream.respond({ ":status": 200, "content-type": "application/vnd.kubernetes.protobuf;stream=watch" });
    const cut = Math.floor(nodeWatch.length / 2);
    stream.write(nodeWatch.subarray(0, cut));
    setTimeout(() => stream.end(nodeWatch.subarray(cut)), 20);
  }
}

/** Runs one watch to its end: its events, and its error if it ended with one. */
function watchAll(client: KubeClient, path: string): Promise<{ events: unknown[]; err: unknown }> {
  const events: unknown[] = [];
  return new Promise((resolve) => {
    client.watchStream(
      path,
      {},
      { onEvent: (ev) => events.push(ev), onEnd: (err) => resolve({ events, err }) },
      NODE,
    );
  });
}

before(async () => {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-days",
      "1",
      "-keyout",
      join(dir, "srv.key"),
      "-out",
      join(dir, "srv.crt"),
    ],
    { stdio: "ignore" },
  );
  server = createSecureServer({
    cert: readFileSync(join(dir, "srv.crt")),
    key: readFileSync(join(dir, "srv.key")),
  });
  server.on("session", () => sessions++);
  server.on("stream", (stream, headers) => {
    const path = String(headers[":path"]);
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      if (path === "/echo") {
        const sha = createHash("sha256").update(body).digest("hex");
        answer(stream, 201, JSON.stringify({ method: headers[":method"], length: body.length, sha }));
      } else if (path === "/big") answer(stream, 200, JSON.stringify({ pad: "x".repeat(300_000) }));
      else if (path === "/busy")
        answer(stream, 429, JSON.stringify({ kind: "Status", code: 429, reason: "TooManyRequests" }), {
          "retry-after": "7",
        });
      else if (path === "/proto") {
        stream.respond({ ":status": 200, "content-type": "application/vnd.kubernetes.protobuf" });
        stream.end(Buffer.from([0x6b, 0x38, 0x73, 0x00, 1, 2, 3]));
      } else if (path === "/slow") {
        // Never answers.
      } else if (path.startsWith("/pwatch")) {
        protoWatch(stream, path.split("?")[0]!, String(headers["accept"]));
      } else if (path.startsWith("/watch")) {
        stream.respond({ ":status": 200, "content-type": "application/json" });
        const line = Buffer.from(`${JSON.stringify({ type: "ADDED", object: { name: "é-node" } })}\n`);
        const cut = line.indexOf(0xc3) + 1; // inside the two bytes of "é"
        stream.write(line.subarray(0, cut));
        setTimeout(() => stream.end(line.subarray(cut)), 20);
      } else answer(stream, 404, JSON.stringify({ kind: "Status", code: 404, reason: "NotFound" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

after(() => server.close());

function leanClient(opts: { requestsApart?: boolean; server?: string; clock?: Clock } = {}): KubeClient {
  return new KubeClient(
    {
      server: opts.server ?? `https://127.0.0.1:${port}`,
      ca: readFileSync(join(dir, "srv.crt"), "utf8"),
      insecureSkipTLSVerify: false,
      authorization: () => Promise.resolve(undefined),
      source: "test",
    },
    {
      leanWatches: true,
      leanRequests: true,
      requestsApart: opts.requestsApart,
      retry: NO_RETRY,
      ...(opts.clock ? { clock: opts.clock } : {}),
    },
  );
}

/** Runs one JSON watch of the test server to its end, rejecting on its error. */
function watchJson(client: KubeClient, path: string): Promise<unknown[]> {
  const events: unknown[] = [];
  return new Promise((resolve, reject) => {
    client.watchStream(
      path,
      {},
      {
        onEvent: (ev) => events.push(ev),
        onEnd: (err) =>
          err ? reject(err instanceof Error ? err : new Error("watch failed")) : resolve(events),
      },
    );
  });
}

test("lean requests: statuses, bodies over the flow-control windows, protobuf, errors, one connection", async () => {
  const client = leanClient();
  const before = sessions;
  try {
    const body = { data: "y".repeat(200_000) };
    const sent = Buffer.from(JSON.stringify(body));
    assert.deepEqual(await client.request({ method: "POST", path: "/echo", body }), {
      method: "POST",
      length: sent.length,
      sha: createHash("sha256").update(sent).digest("hex"),
    });
    const big = await client.get<{ pad: string }>("/big");
    assert.equal(big.pad.length, 300_000);
    const proto = await client.request<Uint8Array>({ method: "GET", path: "/proto", accept: "protobuf" });
    assert.deepEqual([...proto], [0x6b, 0x38, 0x73, 0x00, 1, 2, 3]);
    await assert.rejects(client.get("/missing"), (err: unknown) => {
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.status, 404);
      return true;
    });
    await assert.rejects(client.get("/busy"), (err: unknown) => {
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.status, 429);
      assert.equal(err.retryAfterSeconds, 7);
      return true;
    });
    await assert.rejects(client.request({ method: "GET", path: "/slow", timeoutMs: 200 }), /within 200 ms/);
    assert.equal(sessions - before, 1, "every request on one connection");
  } finally {
    await client.close();
  }
});

test("lean watch and requests share the connection; a character cut between frames stays whole", async () => {
  const client = leanClient();
  const before = sessions;
  try {
    const events = await watchJson(client, "/watch");
    assert.deepEqual(events, [{ type: "ADDED", object: { name: "é-node" } }]);
    await client.request({ method: "PATCH", path: "/echo", body: { a: 1 }, patchType: "merge" });
    assert.equal(sessions - before, 1);
  } finally {
    await client.close();
  }
});

test("lean requests apart (a shared client): requests on a connection of their own, beside the watches'", async () => {
  const client = leanClient({ requestsApart: true });
  const before = sessions;
  try {
    assert.deepEqual(await watchJson(client, "/watch"), [{ type: "ADDED", object: { name: "é-node" } }]);
    assert.equal(sessions - before, 1, "the watch's connection");
    const answer = await client.request<{ method: string }>({
      method: "POST",
      path: "/echo",
      body: { a: 1 },
    });
    assert.equal(answer.method, "POST");
    await client.get("/proto");
    assert.equal(sessions - before, 2, "one more connection, for the requests");
    await watchJson(client, "/watch");
    assert.equal(sessions - before, 2, "watches and requests each keep their connection");
  } finally {
    await client.close();
  }
});

test("lean client, a server that never completes the TLS handshake: watches and requests fail after the handshake timeout, not never", async () => {
  // Accepts the TCP connection and says nothing (a stuck or blackholed server).
  const silent = createNetServer(() => undefined);
  const held: Socket[] = [];
  silent.on("connection", (s) => held.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const clock = new FakeClock();
  const client = leanClient({ server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}`, clock });
  try {
    const watch: { ended: boolean; err?: unknown } = { ended: false };
    client.watchStream(
      "/watch",
      {},
      { onEvent: () => undefined, onEnd: (err) => Object.assign(watch, { ended: true, err }) },
    );
    const request = client.request({ method: "GET", path: "/echo", timeoutMs: 60_000 });
    request.catch(() => undefined);
    while (held.length === 0) await new Promise((r) => setTimeout(r, 10));
    await clock.advance(HANDSHAKE_TIMEOUT_MS - 1);
    assert.equal(watch.ended, false, "not before the timeout");
    await clock.advance(1);
    assert.ok(watch.err instanceof KubeApiError, "the watch ended with an error its watcher retries");
    assert.match(watch.err.message, /no TLS handshake with the server within 10 s/);
    await assert.rejects(request, /no TLS handshake with the server within 10 s/);
  } finally {
    await client.close();
    for (const s of held) s.destroy();
    silent.close();
  }
});

test("lean protobuf watch: the API server's frames decode as the type asked for, errors read as Statuses", async () => {
  const client = leanClient();
  try {
    const ok = await watchAll(client, "/pwatch");
    assert.equal(ok.err, undefined);
    const events = ok.events as {
      type: string;
      object: { kind: string; metadata: { name: string; uid: string } };
    }[];
    assert.ok(events.length >= 1, "at least the ADDED event");
    assert.equal(events[0]!.type, "ADDED");
    assert.equal(events[0]!.object.kind, "Node");
    assert.match(events[0]!.object.metadata.name, /^it-protobuf-/);
    assert.ok(events[0]!.object.metadata.uid);

    const forbidden = await watchAll(client, "/pwatch-forbidden");
    assert.deepEqual(forbidden.events, []);
    assert.ok(forbidden.err instanceof KubeApiError);
    assert.equal(forbidden.err.status, 403);
    assert.match(forbidden.err.message, /Forbidden.*nodes "x" is forbidden/);

    // A server that answers JSON (a type with no protobuf form) is read as JSON.
    const json = await watchAll(client, "/pwatch-json");
    assert.equal(json.err, undefined);
    assert.deepEqual(json.events, [{ type: "ADDED", object: { metadata: { name: "json-node" } } }]);

    const garbage = await watchAll(client, "/pwatch-garbage");
    assert.ok(garbage.err instanceof KubeApiError);
    assert.match(garbage.err.message, /protobuf watch event does not decode/);
  } finally {
    await client.close();
  }
});
