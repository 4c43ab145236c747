/**
 * Error types shared by every part of kubemark-cluster.
 *
 * Each error carries a stable `code` (for programs and tests), an optional HTTP `status`, the
 * underlying `cause`, and a `hint` that tells a person how to fix it. The CLI prints
 * `error: <message>` followed by the hint and exits non-zero; nothing else sets exit codes.
 */

/** Stable error codes. */
export type ErrorCode =
  | "BAD_INPUT"
  | "PORT_IN_USE"
  | "STATE_DIR"
  | "MISSING_TOOL"
  | "BUILD_FAILED"
  | "START_FAILED"
  | "TIMEOUT"
  | "NOT_FOUND"
  | "KUBECONFIG"
  | "UNREACHABLE"
  | "TLS"
  | "FORBIDDEN"
  | "UNAUTHORIZED"
  | "CONFLICT"
  | "GONE"
  | "API_ERROR"
  | "SLO_FAILED"
  | "INTERNAL";

/** Base class of every error this project throws on purpose. */
export class KubemarkError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** What the user can do about it, in one sentence (optional). */
  readonly hint: string | undefined;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "KubemarkError";
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? (code === "BAD_INPUT" ? 2 : 1);
  }
}

/** A user gave a value that cannot be used (flag, argument, environment variable). */
export class BadInputError extends KubemarkError {
  constructor(message: string, hint?: string) {
    super("BAD_INPUT", message, hint === undefined ? {} : { hint });
    this.name = "BadInputError";
  }
}

/** Returns a short description of any thrown value, for logs and messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
