import { decodeObject, encodeObject, protoReader, protoWriter, tag, type ProtoWriter } from "./protobuf.ts";

/**
 * A table-driven codec between an object's JSON form and its Kubernetes protobuf message: a
 * schema names, for each JSON field, its field number in the type's generated.proto and its type.
 * Encoding refuses a field the schema does not know (it would be dropped silently otherwise);
 * decoding reads only the schema's fields and skips the rest unread, so a read schema that lists
 * only what the engine looks at costs little however large the object the server sends.
 */

/** Scalar field types (Time and MicroTime are meta/v1's {seconds, nanos}; Quantity is {string}). */
export type Scalar = "string" | "int32" | "int64" | "bool" | "time" | "microTime" | "quantity";

/** One field: its number, its type, and whether it is repeated or a map keyed by string. */
export interface Field {
  readonly n: number;
  readonly t: Scalar | Schema;
  readonly list?: true;
  readonly map?: true;
  /**
   * JSON leaves the field out at its zero value ("", 0, false): a string, number or bool Go field
   * that is not a pointer, tagged `omitempty`. Go's protobuf writes that zero all the same;
   * decoding leaves it out, so the decoded object is what the JSON answer says. Leave this off for
   * a pointer field (it keeps a zero it was set to, in both encodings) and for a Time (JSON writes
   * a zero Time as null, omitempty or not, as the decoder does).
   */
  readonly omitEmpty?: true;
  /**
   * A struct JSON writes inline (`json:",inline"`, e.g. a Volume's VolumeSource, the
   * LocalObjectReference in a ConfigMapKeySelector): its fields are decoded into the enclosing
   * object; the field's own name in the schema is only a label. Read schemas only: encoding
   * refuses it.
   */
  readonly inline?: true;
}

/** JSON field name -> protobuf field. */
export interface Schema {
  readonly [json: string]: Field;
}

/** A built-in type as a kubelet's client sends and reads it. */
export interface ProtoType {
  readonly apiVersion: string;
  readonly kind: string;
  /** Every field the engine writes of this type. */
  readonly write: Schema;
  /** The fields the engine reads of this type's answers (the rest is skipped). */
  readonly read: Schema;
}

const VARINT = 0;
const LEN = 2;

type Json = Record<string, unknown>;

/** The object `obj` (JSON form, apiVersion and kind of `type`) in Kubernetes protobuf. */
export function encodeAs(type: ProtoType, obj: unknown): Uint8Array {
  if (!isObject(obj)) throw new Error(`cannot encode ${type.kind} in protobuf: the body is not an object`);
  const { apiVersion, kind, ...rest } = obj;
  if (
    (apiVersion !== undefined && apiVersion !== type.apiVersion) ||
    (kind !== undefined && kind !== type.kind)
  ) {
    throw new Error(
      `cannot encode ${String(apiVersion)} ${String(kind)} as ${type.apiVersion} ${type.kind} in protobuf: ` +
        `the request names the wrong type`,
    );
  }
  const w = protoWriter();
  writeMessage(w, rest, type.write, type.kind);
  return encodeObject(type.apiVersion, type.kind, w.finish());
}

/** Reads a protobuf answer of `type` into its JSON form, with only the read schema's fields. */
export function decodeAs<T>(type: ProtoType, bytes: Uint8Array): T {
  const { apiVersion, kind, raw } = decodeObject(bytes);
  if (apiVersion !== type.apiVersion || kind !== type.kind) {
    throw new Error(`expected a ${type.apiVersion} ${type.kind} in protobuf, got ${apiVersion} ${kind}`);
  }
  const r = protoReader(raw);
  return { apiVersion, kind, ...readMessage(r, r.len, type.read, kind) } as T;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function writeMessage(w: ProtoWriter, obj: Json, schema: Schema, where: string): void {
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || value === null) continue;
    const f = schema[key];
    const at = `${where}.${key}`;
    if (f?.inline) throw new Error(`${at} is an inline struct: the codec reads it only (protobuf-schema.ts)`);
    if (!f) {
      throw new Error(
        `${at} has no protobuf field in the codec's schema (src/client/protobuf-types.ts): add it with ` +
          `its number from the type's generated.proto, or send JSON (--kube-api-content-type application/json)`,
      );
    }
    if (f.map) {
      if (!isObject(value)) throw new Error(`${at} must be a map, got ${typeof value}`);
      // Sorted by key, as Go's generated marshallers write maps.
      for (const k of Object.keys(value).sort()) {
        w.uint32(tag(f.n, LEN)).fork();
        w.uint32(tag(1, LEN)).string(k);
        writeValue(w, 2, f.t, value[k], `${at}[${k}]`);
        w.ldelim();
      }
    } else if (f.list) {
      if (!Array.isArray(value)) throw new Error(`${at} must be a list, got ${typeof value}`);
      value.forEach((v, i) => writeValue(w, f.n, f.t, v, `${at}[${i}]`));
    } else writeValue(w, f.n, f.t, value, at);
  }
}

function writeValue(w: ProtoWriter, n: number, t: Scalar | Schema, v: unknown, at: string): void {
  const bad = (want: string): Error => new Error(`${at} must be ${want}, got ${JSON.stringify(v)}`);
  if (typeof t !== "string") {
    if (!isObject(v)) throw bad("an object");
    w.uint32(tag(n, LEN)).fork();
    writeMessage(w, v, t, at);
    w.ldelim();
    return;
  }
  switch (t) {
    case "string":
      if (typeof v !== "string") throw bad("a string");
      w.uint32(tag(n, LEN)).string(v);
      return;
    case "int32":
    case "int64":
      if (typeof v !== "number" || !Number.isInteger(v)) throw bad("an integer");
      w.uint32(tag(n, VARINT));
      if (t === "int32") w.int32(v);
      else w.int64(v);
      return;
    case "bool":
      if (typeof v !== "boolean") throw bad("true or false");
      w.uint32(tag(n, VARINT)).bool(v);
      return;
    case "quantity":
      if (typeof v !== "string") throw bad("a quantity string");
      w.uint32(tag(n, LEN)).fork().uint32(tag(1, LEN)).string(v).ldelim();
      return;
    case "time":
    case "microTime": {
      if (typeof v !== "string") throw bad("an RFC 3339 time");
      const { seconds, nanos } = splitTime(v, at);
      w.uint32(tag(n, LEN)).fork();
      w.uint32(tag(1, VARINT)).int64(seconds);
      if (nanos) w.uint32(tag(2, VARINT)).int32(nanos);
      w.ldelim();
      return;
    }
  }
}

/** A reader as protobufjs gives it. */
type Reader = ReturnType<typeof protoReader>;

/** Field number -> [JSON name, field], per schema (built once). */
const byNumber = new WeakMap<Schema, Map<number, [string, Field]>>();

function numbers(schema: Schema): Map<number, [string, Field]> {
  let m = byNumber.get(schema);
  if (!m) {
    m = new Map(Object.entries(schema).map(([name, f]) => [f.n, [name, f]]));
    byNumber.set(schema, m);
  }
  return m;
}

function readMessage(r: Reader, end: number, schema: Schema, where: string): Json {
  const out: Json = {};
  const fields = numbers(schema);
  while (r.pos < end) {
    const key = r.uint32();
    const entry = fields.get(key >>> 3);
    if (!entry) {
      r.skipType(key & 7);
      continue;
    }
    const [name, f] = entry;
    const want = typeof f.t === "string" && /^(int32|int64|bool)$/.test(f.t) ? VARINT : LEN;
    if ((key & 7) !== want) {
      throw new Error(
        `${where}.${name}: wire type ${key & 7} where the schema expects ${want} (wrong field number?)`,
      );
    }
    if (f.map) {
      const m = (out[name] ??= {}) as Json;
      const stop = r.uint32() + r.pos;
      let k = "";
      let v: unknown;
      while (r.pos < stop) {
        const ek = r.uint32();
        if (ek === tag(1, LEN)) k = r.string();
        else if (ek >>> 3 === 2) v = readValue(r, f.t, `${where}.${name}`);
        else r.skipType(ek & 7);
      }
      m[k] = v ?? (f.t === "string" || f.t === "quantity" ? "" : undefined);
    } else if (f.list) ((out[name] ??= []) as unknown[]).push(readValue(r, f.t, `${where}.${name}`));
    else if (f.inline) Object.assign(out, readValue(r, f.t, `${where}.${name}`));
    else {
      const v = readValue(r, f.t, `${where}.${name}`);
      if (f.omitEmpty && (v === "" || v === 0 || v === false)) delete out[name];
      else out[name] = v;
    }
  }
  return out;
}

function readValue(r: Reader, t: Scalar | Schema, at: string): unknown {
  if (typeof t !== "string") return readMessage(r, r.uint32() + r.pos, t, at);
  switch (t) {
    case "string":
      return r.string();
    case "int32":
      return r.int32();
    case "int64":
      return toNumber(r.int64());
    case "bool":
      return r.bool();
    case "quantity": {
      const end = r.uint32() + r.pos;
      let s = "";
      while (r.pos < end) {
        const k = r.uint32();
        if (k === tag(1, LEN)) s = r.string();
        else r.skipType(k & 7);
      }
      return s;
    }
    case "time":
    case "microTime": {
      const end = r.uint32() + r.pos;
      // An empty message is Go's zero time, null in JSON.
      if (end === r.pos) return null;
      let seconds = 0;
      let nanos = 0;
      while (r.pos < end) {
        const k = r.uint32();
        if (k === tag(1, VARINT)) seconds = toNumber(r.int64());
        else if (k === tag(2, VARINT)) nanos = r.int32();
        else r.skipType(k & 7);
      }
      return joinTime(seconds, t === "microTime" ? nanos : 0, t === "microTime");
    }
  }
}

function toNumber(v: number | { low: number; high: number }): number {
  return typeof v === "number" ? v : v.high * 2 ** 32 + (v.low >>> 0);
}

/** Seconds and nanoseconds of an RFC 3339 time (`2026-01-01T00:00:05Z`, `...05.123456Z`). */
export function splitTime(s: string, at = "time"): { seconds: number; nanos: number } {
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || !Number.isFinite(ms)) throw new Error(`${at} must be an RFC 3339 time, got ${JSON.stringify(s)}`);
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? "").padEnd(9, "0")) };
}

/** A Time (seconds, as the API server writes it) or a MicroTime (microseconds) string. */
export function joinTime(seconds: number, nanos: number, micro: boolean): string {
  const iso = new Date(seconds * 1000).toISOString();
  return micro
    ? iso.replace(/\.\d{3}Z$/, `.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z`)
    : iso.replace(/\.\d{3}Z$/, "Z");
}
