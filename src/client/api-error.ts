import { KubemarkError, type ErrorCode } from "../kernel/errors.ts";

/** The `Status` object the API server returns with errors. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    retryAfterSeconds?: number;
    name?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/**
 * An API request that failed: an HTTP error status (`status` > 0) or no answer at all
 * (`status` 0, code UNREACHABLE). `reason` is the API server's reason (`AlreadyExists`,
 * `Conflict`, `Expired`, ...).
 */
export class KubeApiError extends KubemarkError {
  readonly status: number;
  readonly reason: string | undefined;
  readonly method: string;
  readonly path: string;
  /** Seconds from a `Retry-After` header or the Status details, if any. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: {
    code: ErrorCode;
    status: number;
    method: string;
    path: string;
    message: string;
    reason?: string | undefined;
    retryAfterSeconds?: number | undefined;
    hint?: string;
    cause?: unknown;
  }) {
    super(init.code, init.message, {
      ...(init.hint === undefined ? {} : { hint: init.hint }),
      ...(init.cause === undefined ? {} : { cause: init.cause }),
    });
    this.name = "KubeApiError";
    this.status = init.status;
    this.reason = init.reason;
    this.method = init.method;
    this.path = init.path;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** Maps an HTTP status to this project's error code. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "FORBIDDEN";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "CONFLICT";
    case 410:
      return "GONE";
    default:
      return status === 400 || status === 422 ? "BAD_INPUT" : "API_ERROR";
  }
}

/** Builds a KubeApiError from an HTTP error response (its text, or the Status read from protobuf). */
export function errorFromResponse(
  method: string,
  path: string,
  status: number,
  body: string | ApiStatus,
  retryAfterHeader: string | undefined,
  server: string,
): KubeApiError {
  let st: ApiStatus = typeof body === "string" ? { message: body.slice(0, 200) } : body;
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body);
      // Proxies may answer with JSON that is no Status (`null`, a string): keep the text then.
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) st = parsed;
    } catch {
      // not JSON: the text is the message
    }
  }
  // An empty header is absent (Number("") would be 0, "retry at once").
  const headerSeconds = retryAfterHeader?.trim() ? Number(retryAfterHeader) : NaN;
  const retryAfterSeconds = Number.isFinite(headerSeconds) ? headerSeconds : st.details?.retryAfterSeconds;
  const code = codeForStatus(status);
  let hint: string | undefined;
  if (code === "UNAUTHORIZED") hint = `the credentials are not accepted by ${server}: check the kubeconfig`;
  if (code === "FORBIDDEN")
    hint = st.details?.causes?.some((c) => c.reason === "NamespaceTerminating")
      ? // Not RBAC: the API server takes no new object into a namespace being deleted.
        "the namespace is being deleted: run the command again once 'kubectl get namespace' no longer lists it"
      : "the identity in the kubeconfig lacks RBAC permission for this; use one that has it";
  return new KubeApiError({
    code,
    status,
    method,
    path,
    message: [`${method} ${path}: ${status}`, st.reason, st.message ? `: ${st.message}` : ""]
      .filter(Boolean)
      .join(" ")
      .replace(" : ", ": "),
    reason: st.reason,
    retryAfterSeconds,
    ...(hint === undefined ? {} : { hint }),
  });
}

/** True when the error is the API server's "already exists". */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409 && err.reason === "AlreadyExists";
}

/** True when the error is a 404. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

/** True when the error is an optimistic-concurrency conflict (409 other than AlreadyExists). */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409 && err.reason !== "AlreadyExists";
}
