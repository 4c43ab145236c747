/*
 * The part of HPACK (RFC 7541) the lean HTTP/2 client needs.
 *
 * Requests: every header is sent as a "literal without indexing, new name", so the server's
 * decoder table never holds anything of ours and nothing has to be remembered here.
 *
 * Responses: the client announces a header table of size 0 (SETTINGS_HEADER_TABLE_SIZE), so the
 * server may not refer to a dynamic table, and only two headers are read: `:status` and
 * `retry-after` (the API server puts everything else a client needs in the body: a Status object
 * for errors, a self-describing JSON or protobuf object otherwise). Both values are digits; a
 * Huffman-coded digit string is decoded with the digits' codes alone, and any other header is
 * skipped by its length without decoding it.
 */

/** HPACK integer with an N-bit prefix (RFC 7541 section 5.1). */
export function hpackInt(value: number, prefixBits: number, firstByte: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  let v = value - max;
  while (v >= 128) {
    out.push((v & 127) | 128);
    v >>>= 7;
  }
  out.push(v);
}

/** One header as an HPACK "literal header field without indexing, new name" (RFC 7541 6.2.2). */
export function hpackLiteral(name: string, value: string, out: number[]): void {
  out.push(0x00);
  const n = Buffer.from(name, "latin1");
  hpackInt(n.length, 7, 0, out);
  for (const c of n) out.push(c);
  const v = Buffer.from(value, "utf8");
  hpackInt(v.length, 7, 0, out);
  for (const c of v) out.push(c);
}

/** What a response's header block says that the client reads. */
export interface ResponseHead {
  /** The `:status`; 0 when the block had none (trailers). */
  status: number;
  /** The `retry-after` value (seconds), when given as digits. */
  retryAfter: string | undefined;
}

/** Static-table entries 8-14 (RFC 7541 Appendix A): `:status` with these values. */
const STATIC_STATUS: Readonly<Record<number, number>> = {
  8: 200,
  9: 204,
  10: 206,
  11: 304,
  12: 400,
  13: 404,
  14: 500,
};
/** Static-table name indexes of the headers read. */
const STATUS_NAMES = new Set([8, 9, 10, 11, 12, 13, 14]);
const RETRY_AFTER_NAME = 53;

/**
 * Huffman codes of the ten digits (RFC 7541 Appendix B): '0'-'2' have 5 bits (00000-00010),
 * '3'-'9' have 6 bits (011001-011111). Keyed by `bits << 8 | code`.
 */
const DIGIT_CODES = new Map<number, string>([
  [(5 << 8) | 0b00000, "0"],
  [(5 << 8) | 0b00001, "1"],
  [(5 << 8) | 0b00010, "2"],
  [(6 << 8) | 0b011001, "3"],
  [(6 << 8) | 0b011010, "4"],
  [(6 << 8) | 0b011011, "5"],
  [(6 << 8) | 0b011100, "6"],
  [(6 << 8) | 0b011101, "7"],
  [(6 << 8) | 0b011110, "8"],
  [(6 << 8) | 0b011111, "9"],
]);

/** A Huffman-coded string of digits; undefined when it holds anything else. */
export function huffmanDigits(bytes: Uint8Array): string | undefined {
  let out = "";
  let code = 0;
  let bits = 0;
  for (const byte of bytes) {
    for (let i = 7; i >= 0; i--) {
      code = (code << 1) | ((byte >> i) & 1);
      bits++;
      if (bits >= 5) {
        const d = DIGIT_CODES.get((bits << 8) | code);
        if (d !== undefined) {
          out += d;
          code = 0;
          bits = 0;
        } else if (bits >= 6 && (bits > 7 || code !== (1 << bits) - 1)) {
          // Neither a digit nor (all ones) the padding that may end the string.
          return undefined;
        }
      }
    }
  }
  // Padding: at most 7 bits, all ones (the EOS code's prefix).
  if (bits > 7 || code !== (1 << bits) - 1) return undefined;
  return out;
}

/** Reads an HPACK integer with an N-bit prefix at `pos`; returns [value, next position]. */
function readInt(block: Uint8Array, pos: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1;
  let value = block[pos]! & max;
  pos++;
  if (value < max) return [value, pos];
  let shift = 0;
  for (;;) {
    if (pos >= block.length) throw new Error("truncated HPACK integer");
    const b = block[pos++]!;
    value += (b & 127) * 2 ** shift;
    shift += 7;
    if ((b & 128) === 0) return [value, pos];
    if (shift > 28) throw new Error("HPACK integer too large");
  }
}

/** Reads an HPACK string at `pos`; returns [its bytes, whether Huffman-coded, next position]. */
function readString(block: Uint8Array, pos: number): [Uint8Array, boolean, number] {
  if (pos >= block.length) throw new Error("truncated HPACK string");
  const huffman = (block[pos]! & 0x80) !== 0;
  const [len, at] = readInt(block, pos, 7);
  if (at + len > block.length) throw new Error("truncated HPACK string");
  return [block.subarray(at, at + len), huffman, at + len];
}

function digitsOf(bytes: Uint8Array, huffman: boolean): string | undefined {
  if (huffman) return huffmanDigits(bytes);
  const s = Buffer.from(bytes).toString("latin1");
  return /^\d+$/.test(s) ? s : undefined;
}

/**
 * Reads `:status` and `retry-after` from a response's header block. Throws on a malformed block
 * or a reference to a dynamic table (there is none: its size is 0).
 */
export function readResponseHead(block: Uint8Array): ResponseHead {
  const head: ResponseHead = { status: 0, retryAfter: undefined };
  let pos = 0;
  while (pos < block.length) {
    const b = block[pos]!;
    if (b & 0x80) {
      // Indexed field.
      const [index, next] = readInt(block, pos, 7);
      pos = next;
      if (index === 0 || index > 61) throw new Error(`HPACK index ${index} outside the static table`);
      const status = STATIC_STATUS[index];
      if (status !== undefined) head.status = status;
      continue;
    }
    if ((b & 0xe0) === 0x20) {
      // Dynamic table size update (to 0, the only size allowed).
      pos = readInt(block, pos, 5)[1];
      continue;
    }
    // Literal: with incremental indexing (6-bit name index), or without / never indexed (4-bit).
    const [nameIndex, afterName] = readInt(block, pos, (b & 0x40) !== 0 ? 6 : 4);
    pos = afterName;
    let name: string | number = nameIndex;
    if (nameIndex === 0) {
      const [bytes, huffman, next] = readString(block, pos);
      pos = next;
      // Names the client reads are lower case ASCII; a Huffman-coded name is not one of them
      // unless it is one of the two, which servers send by index.
      name = huffman ? "" : Buffer.from(bytes).toString("latin1");
    } else if (nameIndex > 61) {
      throw new Error(`HPACK index ${nameIndex} outside the static table`);
    }
    const [value, huffman, next] = readString(block, pos);
    pos = next;
    if (name === ":status" || (typeof name === "number" && STATUS_NAMES.has(name))) {
      head.status = Number(digitsOf(value, huffman) ?? 0);
    } else if (name === "retry-after" || name === RETRY_AFTER_NAME) {
      head.retryAfter = digitsOf(value, huffman);
    }
  }
  return head;
}
