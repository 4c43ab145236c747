import { test } from "node:test";
import assert from "node:assert/strict";
import { countEstablished } from "./connections.ts";

test("the engine's connections to the API server's port, from ss -Htnp state established", () => {
  const text = [
    '0      0      127.0.0.1:45678   127.0.0.1:6443   users:(("node",pid=1234,fd=20))',
    '0      0      127.0.0.1:45680   127.0.0.1:6443   users:(("node",pid=1234,fd=21))',
    // Another process, the API server's own side, and another port of ours are not counted.
    '0      0      127.0.0.1:45690   127.0.0.1:6443   users:(("node",pid=12345,fd=20))',
    '0      0      127.0.0.1:6443    127.0.0.1:45678  users:(("kube-apiserver",pid=99,fd=7))',
    '0      0      127.0.0.1:45700   127.0.0.1:2379   users:(("node",pid=1234,fd=30))',
    '0      0      [::1]:45710       [::1]:6443       users:(("node",pid=1234,fd=31))',
    "",
  ].join("\n");
  assert.equal(countEstablished(text, 1234, 6443), 3);
  assert.equal(countEstablished(text, 1234, 2379), 1);
  assert.equal(countEstablished("", 1234, 6443), 0);
});
