import type { SecureContext } from "node:tls";
import type { Clock } from "../kernel/clock.ts";
import type { ApiStatus } from "./api-error.ts";
import { PROTOBUF_CONTENT_TYPE, decodeObject, readStatus } from "./protobuf.ts";
import type { ProtoType } from "./protobuf-schema.ts";
import type { RetryPolicy } from "./retry.ts";

/*
 * What a request to the API server is, as KubeClient's callers give it and its transports send
 * it: the request, the client's options, the content types, and what a transport answers.
 */

/** Patch flavours the API server accepts. */
export type PatchType = "merge" | "strategic" | "json" | "apply";

export const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

/** One API request. */
export interface KubeRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path with leading slash, e.g. `/api/v1/nodes`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /**
   * Serialised as JSON unless it is already a string; bytes are sent as they are, as
   * Kubernetes protobuf (protobuf.ts).
   */
  readonly body?: unknown;
  /**
   * `protobuf` asks for Kubernetes protobuf as a kubelet does (JSON stays acceptable): a protobuf
   * answer is returned as its bytes, an error answer in protobuf is read as a Status.
   */
  readonly accept?: "json" | "protobuf";
  /**
   * A built-in type sent and read in protobuf as a kubelet's client does (protobuf-types.ts): the
   * JSON body is encoded (a PATCH's stays JSON), protobuf is accepted and its answer decoded back
   * into the JSON form with the type's read fields only.
   */
  readonly proto?: ProtoType;
  readonly patchType?: PatchType;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Per-request timeout in ms (default 30 s). */
  readonly timeoutMs?: number;
}

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  /** Sent as User-Agent; the API server's audit log records it (e.g. `hollow-kubelet`). */
  readonly userAgent?: string;
  /** TCP connections kept to the server (each carries up to 100 HTTP/2 streams). Default 4. */
  readonly connections?: number;
  /** Negotiate HTTP/2 (default true): many watches share one connection, as real kubelets do. */
  readonly http2?: boolean;
  readonly retry?: RetryPolicy;
  readonly clock?: Clock;
  /**
   * Carry watches on the lean HTTP/2 client (h2-client.ts: a few hundred bytes per stream instead
   * of ~20 KB) instead of undici. Falls back to undici if the server does not speak HTTP/2.
   */
  readonly leanWatches?: boolean;
  /**
   * Carry ordinary requests on the lean HTTP/2 client too (with `leanWatches`): one connection
   * for a node's requests and watches, as client-go's transport multiplexes a kubelet's. Falls
   * back to undici if the server does not speak HTTP/2.
   */
  readonly leanRequests?: boolean;
  /**
   * With `leanRequests`: ordinary requests on lean connections of their own, apart from the
   * watches'. For a client many nodes share, whose watch connections each carry up to the
   * server's limit of streams (1,000 for kube-apiserver), all long-lived.
   */
  readonly requestsApart?: boolean;
  /**
   * The TLS context of the client's connections, when many clients share one identity (each
   * context holds its own parsed CA and key, ~37 KB). Made from the access when not given.
   */
  readonly secureContext?: SecureContext;
  /** Called after every request with its outcome (for metrics). */
  readonly onResponse?: (info: { method: string; path: string; status: number; ms: number }) => void;
}

/** An answer as a transport returns it. */
export interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** The body when it is protobuf. */
  readonly data: Uint8Array | undefined;
  readonly text: string;
  readonly json: boolean;
}

/** What a kubelet's client accepts: protobuf, else JSON (for types without a protobuf form). */
export const PROTOBUF_ACCEPT = `${PROTOBUF_CONTENT_TYPE}, application/json`;

/** The Status of a protobuf error answer, or its bytes' length when they are no Status. */
export function statusOf(data: Uint8Array): ApiStatus | string {
  try {
    const obj = decodeObject(data);
    if (obj.kind === "Status") return readStatus(obj.raw);
  } catch {
    // not protobuf after all
  }
  return `${data.length} bytes of protobuf`;
}

/** Converts a query object into a `?a=b` string (undefined values dropped). */
export function queryString(query: KubeRequest["query"]): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}
