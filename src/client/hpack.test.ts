import assert from "node:assert/strict";
import { test } from "node:test";
import { huffmanDigits, readResponseHead } from "./hpack.ts";

test("huffmanDigits: digit strings as RFC 7541 Appendix B codes them, anything else refused", () => {
  const cases: [number[], string | undefined][] = [
    // "201": 00010 00000 00001, one padding bit.
    [[0x10, 0x03], "201"],
    // "429": 011010 00010 011111, seven padding bits.
    [[0x68, 0x4f, 0xff], "429"],
    // "7": 011101, two padding bits.
    [[0x77], "7"],
    // "a" (00011) is no digit.
    [[0x1f], undefined],
    // Padding of zeros is not the EOS prefix.
    [[0x10, 0x02], undefined],
    // Eight ones of padding: too long.
    [[0x77, 0xff], undefined],
  ];
  for (const [bytes, want] of cases) assert.equal(huffmanDigits(Uint8Array.from(bytes)), want, String(bytes));
});

test("readResponseHead: :status and retry-after in each representation the server may use", () => {
  const cases: [string, number[], { status: number; retryAfter: string | undefined }][] = [
    ["indexed :status 200", [0x88], { status: 200, retryAfter: undefined }],
    ["indexed :status 404", [0x8d], { status: 404, retryAfter: undefined }],
    ["literal, indexed name, Huffman 201", [0x08, 0x82, 0x10, 0x03], { status: 201, retryAfter: undefined }],
    [
      "literal with incremental indexing, plain 429",
      [0x48, 0x03, 0x34, 0x32, 0x39],
      { status: 429, retryAfter: undefined },
    ],
    [
      "size update, :status 500, retry-after (index 53) plain 7, content-type skipped",
      [0x20, 0x8e, 0x0f, 0x26, 0x01, 0x37, 0x0f, 0x10, 0x84, 0x1d, 0x75, 0xd0, 0x62],
      { status: 500, retryAfter: "7" },
    ],
    [
      "literal new name :status",
      [0x00, 0x07, ...Buffer.from(":status"), 0x03, ...Buffer.from("503")],
      { status: 503, retryAfter: undefined },
    ],
    ["trailers: no :status", [0x0f, 0x10, 0x01, 0x78], { status: 0, retryAfter: undefined }],
  ];
  for (const [name, block, want] of cases)
    assert.deepEqual(readResponseHead(Uint8Array.from(block)), want, name);
  assert.throws(() => readResponseHead(Uint8Array.of(0xbe)), /index 62 outside the static table/);
  assert.throws(() => readResponseHead(Uint8Array.of(0x08, 0x85, 0x10)), /truncated/);
});
