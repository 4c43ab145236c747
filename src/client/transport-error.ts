import { errors as undiciErrors } from "undici";
import { describeError } from "../kernel/errors.ts";
import { KubeApiError } from "./api-error.ts";

/** Error codes of a connection that failed or was cut (Node's errno, undici's, HTTP/2's). */
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_INFO",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_INVALID_SESSION",
]);

function errnoOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns a transport failure of a request to `server` into a KubeApiError with status 0 (retryable,
 * code UNREACHABLE); aborts and errors that already are KubeApiErrors pass through.
 */
export function transportError(server: string, method: string, path: string, err: unknown): unknown {
  if (err instanceof KubeApiError) return err;
  if ((err as { name?: string }).name === "AbortError" || err instanceof undiciErrors.RequestAbortedError)
    return err;
  const errno = errnoOf(err);
  const known = errno !== undefined && CONNECTION_ERROR_CODES.has(errno);
  const tls = /certificate|self.signed|SSL|TLS/i.test(describeError(err));
  return new KubeApiError({
    code: "UNREACHABLE",
    status: 0,
    method,
    path,
    message: `cannot reach ${server} (${errno ?? (tls ? "TLS" : "error")}): ${describeError(err)}`,
    ...(tls || known
      ? {
          hint: tls
            ? "the server's certificate is not trusted by the kubeconfig's certificate-authority"
            : "is the cluster up? for a local cluster try 'kubemark-cluster up'",
        }
      : {}),
    cause: err,
  });
}
