import protobuf from "protobufjs/minimal.js";
import type { ApiStatus } from "./api-error.ts";

const { Reader, Writer } = protobuf;

/**
 * Kubernetes' protobuf encoding (the kubelet's default content type): a 4-byte magic number
 * "k8s\0", then a runtime.Unknown message whose typeMeta names the object's apiVersion and kind
 * and whose raw field holds the object's own message. Field numbers are those of the API's
 * generated.proto files (k8s.io/api, k8s.io/apimachinery).
 */
export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const LEN = 2;

/** A field's key: its number and wire type. */
export const tag = (field: number, wireType: number): number => (field << 3) | wireType;

/** A message being written (protobufjs's writer, for the object encoders). */
export type ProtoWriter = protobuf.Writer;

/** A new writer for an object's message. */
export const protoWriter = (): ProtoWriter => Writer.create();

/** A reader over an object's message. */
export const protoReader = (raw: Uint8Array): protobuf.Reader => Reader.create(raw);

/** Wraps an object's message in the envelope the API server reads. */
export function encodeObject(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const w = Writer.create();
  w.uint32(tag(1, LEN))
    .fork()
    .uint32(tag(1, LEN))
    .string(apiVersion)
    .uint32(tag(2, LEN))
    .string(kind)
    .ldelim();
  w.uint32(tag(2, LEN)).bytes(raw);
  const body = w.finish();
  const out = new Uint8Array(MAGIC.length + body.length);
  out.set(MAGIC, 0);
  out.set(body, MAGIC.length);
  return out;
}

/** An object read from the envelope: its type and its own message. */
export interface EncodedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly raw: Uint8Array;
}

/** Reads the envelope; throws when `bytes` is not Kubernetes protobuf. */
/** Whether `bytes` start with the protobuf envelope's magic number (no JSON or text can). */
export function isProtobuf(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

export function decodeObject(bytes: Uint8Array): EncodedObject {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error("not a Kubernetes protobuf object (no k8s\\0 prefix)");
  }
  const r = Reader.create(bytes.subarray(MAGIC.length));
  let apiVersion = "";
  let kind = "";
  let raw: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const key = r.uint32();
    if (key === tag(1, LEN)) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const k = r.uint32();
        if (k === tag(1, LEN)) apiVersion = r.string();
        else if (k === tag(2, LEN)) kind = r.string();
        else r.skipType(k & 7);
      }
    } else if (key === tag(2, LEN)) raw = r.bytes();
    else r.skipType(key & 7);
  }
  return { apiVersion, kind, raw };
}

/** The identifying fields of an object's metadata (ObjectMeta, field 1 of every object). */
export interface ProtoObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
}

/** Reads ObjectMeta's name, namespace, uid and resourceVersion from an object's message. */
export function readObjectMeta(raw: Uint8Array): ProtoObjectMeta {
  const meta: ProtoObjectMeta = { name: "", namespace: "", uid: "", resourceVersion: "" };
  const r = Reader.create(raw);
  while (r.pos < r.len) {
    const key = r.uint32();
    if (key !== tag(1, LEN)) {
      r.skipType(key & 7);
      continue;
    }
    const end = r.uint32() + r.pos;
    while (r.pos < end) {
      const k = r.uint32();
      if (k === tag(1, LEN)) meta.name = r.string();
      else if (k === tag(3, LEN)) meta.namespace = r.string();
      else if (k === tag(5, LEN)) meta.uid = r.string();
      else if (k === tag(6, LEN)) meta.resourceVersion = r.string();
      else r.skipType(k & 7);
    }
  }
  return meta;
}

/** Reads a meta/v1 Status (an error answer) into the shape its JSON form has. */
export function readStatus(raw: Uint8Array): ApiStatus {
  const st: ApiStatus = { kind: "Status" };
  const r = Reader.create(raw);
  while (r.pos < r.len) {
    const key = r.uint32();
    if (key === tag(2, LEN)) st.status = r.string();
    else if (key === tag(3, LEN)) st.message = r.string();
    else if (key === tag(4, LEN)) st.reason = r.string();
    else if (key === tag(6, VARINT)) st.code = r.int32();
    else if (key === tag(5, LEN)) {
      const details: NonNullable<ApiStatus["details"]> = {};
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const k = r.uint32();
        if (k === tag(1, LEN)) details.name = r.string();
        else if (k === tag(3, LEN)) details.kind = r.string();
        else if (k === tag(5, VARINT)) details.retryAfterSeconds = r.int32();
        else r.skipType(k & 7);
      }
      st.details = details;
    } else r.skipType(key & 7);
  }
  return st;
}
