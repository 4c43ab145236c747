import { decodeObject, protoReader, readStatus, tag } from "./protobuf.ts";
import { decodeAs, type ProtoType } from "./protobuf-schema.ts";
import { describeError } from "../kernel/errors.ts";
import { KubeApiError } from "./api-error.ts";
import type { WatchEvent } from "./watch-stream.ts";

/*
 * A watch in Kubernetes protobuf (`application/vnd.kubernetes.protobuf;stream=watch`), as
 * apimachinery's codec factory writes it: the stream serializer is the raw protobuf one behind a
 * length-delimited framer, so each frame is a 4-byte big-endian length then a meta/v1 WatchEvent
 * message (type = 1, object = 2, a RawExtension whose raw = 1 holds the object in the ordinary
 * "k8s\0"-prefixed envelope). The engine's kubelet and kube-proxy watches read it
 * ({@link ProtoWatchFrames}) when they ask for protobuf, as a kubelet's client does.
 */

const LEN = 2;

/** One watch event: its type and its object's envelope bytes. */
export interface RawWatchEvent {
  readonly type: string;
  readonly object: Uint8Array;
}

/**
 * Splits a watch stream into its frames as chunks arrive (a frame may span chunks). Whole frames
 * are read where they lie in the chunk; only an unfinished frame's bytes are kept (one per open
 * watch at most, none between events).
 */
export class WatchFrames {
  private buf: Uint8Array | undefined;

  /** The events completed by `chunk`. */
  push(chunk: Uint8Array): RawWatchEvent[] {
    let data = chunk;
    if (this.buf) {
      data = new Uint8Array(this.buf.length + chunk.length);
      data.set(this.buf, 0);
      data.set(chunk, this.buf.length);
      this.buf = undefined;
    }
    const out: RawWatchEvent[] = [];
    let at = 0;
    while (data.length - at >= 4) {
      const size = ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
      if (data.length - at - 4 < size) break;
      out.push(readWatchEvent(data.subarray(at + 4, at + 4 + size)));
      at += 4 + size;
    }
    if (at < data.length) this.buf = data.slice(at);
    return out;
  }

  /** Bytes of an unfinished frame (0 when the stream ended on a frame boundary). */
  get pending(): number {
    return this.buf?.length ?? 0;
  }
}

/** Reads one frame's WatchEvent (tolerating an enveloped one, which the raw serializer never writes). */
export function readWatchEvent(frame: Uint8Array): RawWatchEvent {
  const msg =
    frame[0] === 0x6b && frame[1] === 0x38 && frame[2] === 0x73 && frame[3] === 0
      ? decodeObject(frame).raw
      : frame;
  const r = protoReader(msg);
  let type = "";
  let object: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const key = r.uint32();
    if (key === tag(1, LEN)) type = r.string();
    else if (key === tag(2, LEN)) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const k = r.uint32();
        if (k === tag(1, LEN)) object = r.bytes();
        else r.skipType(k & 7);
      }
    } else r.skipType(key & 7);
  }
  if (!type) throw new Error("a protobuf watch frame without an event type: not a WatchEvent");
  return { type, object };
}

/** A watch event with its object decoded as `type` (an ERROR event's as a Status). */
export function decodeWatchEvent<T>(ev: RawWatchEvent, type: ProtoType): { type: string; object: T } {
  if (ev.type === "ERROR") {
    const { raw } = decodeObject(ev.object);
    return { type: ev.type, object: readStatus(raw) as T };
  }
  return { type: ev.type, object: decodeAs<T>(type, ev.object) };
}

/** A protobuf watch body as events of `type` (JSON form, the read schema's fields), chunk by chunk. */
export class ProtoWatchFrames {
  private readonly frames = new WatchFrames();
  private readonly type: ProtoType;

  constructor(type: ProtoType) {
    this.type = type;
  }

  /** The events completed by `chunk`; throws when a frame is not a WatchEvent of the type. */
  push(chunk: Uint8Array): WatchEvent<unknown>[] {
    return this.frames.push(chunk).map((ev) => decodeWatchEvent(ev, this.type) as WatchEvent<unknown>);
  }
}

/**
 * The error that ends a watch whose protobuf frame does not decode as the type asked for: the
 * server's answer, not the network, so it is not reported as unreachable.
 */
export function undecodableWatch(path: string, err: unknown): KubeApiError {
  return new KubeApiError({
    code: "API_ERROR",
    status: 0,
    method: "WATCH",
    path,
    message: `WATCH ${path}: the protobuf watch event does not decode: ${describeError(err)}`,
    cause: err,
  });
}
