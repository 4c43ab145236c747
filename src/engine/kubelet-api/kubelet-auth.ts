/*
 * The kubelet API's authentication and authorization, as a kubelet with webhook modes (kubeadm's
 * configuration: anonymous off, `authentication.webhook` and `authorization.mode: Webhook`):
 * a client certificate verified against the cluster's client CA is user CN, groups O; otherwise
 * a bearer token is asked of the API server (TokenReview); the user then gets the
 * `system:authenticated` group, and each request is put to the API server as SubjectAccessReviews
 * for `nodes/<subresource>` (request-attributes.ts). Answers are cached as the kubelet's webhooks
 * cache them (review-cache.ts). Anonymous requests are not authenticated (401).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { KubeRequest } from "../../client/kube-client.ts";
import { KubeApiError } from "../../client/api-error.ts";
import type { Clock } from "../../kernel/clock.ts";
import { describeError } from "../../kernel/errors.ts";
import { subjectAccessReviewSpec, type KubeletUser, type RequestAttributes } from "./request-attributes.ts";
import { AUTHORIZED_TTL_MS, ReviewCache, TOKEN_REVIEW_TTL_MS, UNAUTHORIZED_TTL_MS } from "./review-cache.ts";

/** What the kubelet's authenticator and authorizer run on. */
export interface KubeletAuthDeps {
  /** Sends a request to the API server as the engine's identity (TokenReviews, SubjectAccessReviews). */
  request<T>(req: KubeRequest): Promise<T>;
  readonly clock: Clock;
  readonly log: Logger;
}

/** How an authorization went: allowed, denied, or a review that could not be made (for `subresource`). */
export type AuthzDecision =
  | { readonly kind: "allowed" }
  | { readonly kind: "denied" }
  | { readonly kind: "error"; readonly subresource: string };

const ALLOWED: AuthzDecision = { kind: "allowed" };

/** The group every authenticated user gets (k8s.io/apiserver's AuthenticatedGroupAdder). */
export const AUTHENTICATED_GROUP = "system:authenticated";

/** The kubelet's webhook request timeout (`TokenAccessReviewTimeout`, the authorizer's 10 s). */
const REVIEW_TIMEOUT_MS = 10_000;
/** How often the same failing-review warning may be logged. */
const WARN_EVERY_MS = 60_000;

interface TokenReview {
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    error?: string;
  };
}

/** Adds `system:authenticated` to a user's groups as the API server's authenticator chain does. */
function withAuthenticatedGroup(user: KubeletUser): KubeletUser {
  if (user.groups.includes(AUTHENTICATED_GROUP) || user.name === "system:anonymous") return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

/** The user of a verified client certificate: CN, and O as groups (x509.CommonNameUserConversion). */
export function certificateUser(subject: {
  CN?: string | string[];
  O?: string | string[];
}): KubeletUser | undefined {
  const cn = Array.isArray(subject.CN) ? subject.CN[0] : subject.CN;
  if (!cn) return undefined;
  const o = subject.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
  return { name: cn, groups: o };
}

/**
 * The subject of a peer certificate from its one-line-per-RDN text (`X509Certificate.subject`,
 * "O=a\nCN=u"), as {@link certificateUser} reads it; undefined when the text has escapes (`\`)
 * or a multi-valued RDN (" + "), which only the full decoding reads right. Decoding the whole
 * certificate (`getPeerCertificate`) costs ~200 us, a tenth of a connection's TLS handshake; this
 * ~7 us.
 */
export function subjectOfText(text: string): { CN?: string[]; O?: string[] } | undefined {
  if (text.includes("\\") || text.includes(" + ")) return undefined;
  const out: { CN?: string[]; O?: string[] } = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) return undefined;
    const key = line.slice(0, eq);
    if (key === "CN" || key === "O") (out[key] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

/** The user of a connection's verified client certificate (undefined: it names none). */
function peerCertificateUser(socket: TLSSocket): KubeletUser | undefined {
  const text = socket.getPeerX509Certificate?.()?.subject;
  const subject =
    (text === undefined ? undefined : subjectOfText(text)) ?? socket.getPeerCertificate().subject;
  return certificateUser(subject ?? {});
}

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^bearer\s+(\S+)\s*$/i.exec(header?.trim() ?? "");
  return m ? m[1] : undefined;
}

/** The kubelet's authenticator and authorizer for every node of the process (one cache for all). */
export class KubeletAuth {
  private readonly deps: KubeletAuthDeps;
  private readonly tokens: ReviewCache<KubeletUser | null>;
  private readonly reviews: ReviewCache<boolean>;
  private readonly warnedAt = new Map<string, number>();
  /** The user of each connection's verified client certificate (null: it names none). */
  private readonly certificateUsers = new WeakMap<TLSSocket, KubeletUser | null>();
  /** Each user object's part of the review cache's keys (users are kept per connection or token). */
  private readonly userKeys = new WeakMap<KubeletUser, string>();

  /** `capacity`: answers kept in each cache (the webhook authorizer keeps 8192 per kubelet). */
  constructor(deps: KubeletAuthDeps, capacity = 8192) {
    this.deps = deps;
    this.tokens = new ReviewCache<KubeletUser | null>(deps.clock, capacity, () => TOKEN_REVIEW_TTL_MS);
    this.reviews = new ReviewCache<boolean>(deps.clock, capacity, (allowed) =>
      allowed ? AUTHORIZED_TTL_MS : UNAUTHORIZED_TTL_MS,
    );
  }

  /**
   * Who sent `req`: the verified client certificate's user, else the bearer token's (TokenReview),
   * else undefined (anonymous: the kubelet answers 401). A token review that fails is logged and
   * counts as not authenticated, as the kubelet's filter treats an authentication error.
   */
  async authenticate(req: IncomingMessage): Promise<KubeletUser | undefined> {
    const socket = req.socket as TLSSocket;
    if (socket.authorized) {
      // Read once per connection: decoding the peer certificate was a quarter of a scrape's CPU,
      // and a connection's certificate does not change (the endpoints refuse renegotiation).
      let user = this.certificateUsers.get(socket);
      if (user === undefined) {
        const named = peerCertificateUser(socket);
        user = named ? withAuthenticatedGroup(named) : null;
        this.certificateUsers.set(socket, user);
      }
      if (user) return user;
    }
    const token = bearerToken(req.headers.authorization);
    if (!token) return undefined;
    const key = createHash("sha256").update(token).digest("base64");
    try {
      const user = await this.tokens.resolve(key, () => this.reviewToken(token));
      return user ?? undefined;
    } catch (err) {
      this.warnOnce("tokenreviews", err);
      return undefined;
    }
  }

  /** Whether `user` may make the request `a`: the first of its subresources allowed lets it through. */
  async authorize(user: KubeletUser, a: RequestAttributes): Promise<AuthzDecision> {
    const who = this.userKey(user);
    for (const subresource of a.subresources) {
      // The review's spec names the user, the verb, the subresource and the node (the rest of
      // it is the same for every request), so this key stands for it.
      const key = `${who}\0${a.verb}\0${subresource}\0${a.node}`;
      const kept = this.reviews.get(key);
      if (kept === true) return ALLOWED;
      if (kept === false) continue;
      try {
        const spec = subjectAccessReviewSpec(user, a, subresource);
        if (await this.reviews.resolve(key, () => this.reviewAccess(spec))) return ALLOWED;
      } catch (err) {
        this.warnOnce("subjectaccessreviews", err);
        return { kind: "error", subresource };
      }
    }
    return { kind: "denied" };
  }

  /** The user's part of a review's cache key: name, uid, groups and extra (made once per user object). */
  private userKey(user: KubeletUser): string {
    let key = this.userKeys.get(user);
    if (key === undefined) {
      key = JSON.stringify([user.name, user.uid ?? "", user.groups, user.extra ?? {}]);
      this.userKeys.set(user, key);
    }
    return key;
  }

  private async reviewToken(token: string): Promise<KubeletUser | null> {
    const review = await this.deps.request<TokenReview>({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      timeoutMs: REVIEW_TIMEOUT_MS,
    });
    const u = review.status?.user;
    if (review.status?.authenticated !== true || !u?.username) return null;
    return withAuthenticatedGroup({
      name: u.username,
      uid: u.uid,
      groups: u.groups ?? [],
      ...(u.extra ? { extra: u.extra } : {}),
    });
  }

  private async reviewAccess(spec: object): Promise<boolean> {
    const review = await this.deps.request<{ status?: { allowed?: boolean } }>({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      body: { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec },
      timeoutMs: REVIEW_TIMEOUT_MS,
    });
    return review.status?.allowed === true;
  }

  /** Logs a failing review (at most once a minute per kind), naming the fix when it is forbidden. */
  private warnOnce(kind: "tokenreviews" | "subjectaccessreviews", err: unknown): void {
    const now = this.deps.clock.now();
    if (now - (this.warnedAt.get(kind) ?? -Infinity) < WARN_EVERY_MS) return;
    this.warnedAt.set(kind, now);
    const group = kind === "tokenreviews" ? "authentication.k8s.io" : "authorization.k8s.io";
    if (err instanceof KubeApiError && err.status === 403) {
      this.deps.log.error(
        { err: describeError(err) },
        "the engine's identity may not create %s.%s, so the kubelet endpoints cannot check callers " +
          "(they answer %s): bind it to the ClusterRole system:auth-delegator ('kubemark-cluster create' does for its fleets)",
        kind,
        group,
        kind === "tokenreviews" ? "401" : "500",
      );
    } else {
      this.deps.log.warn({ err: describeError(err) }, "kubelet endpoint: %s.%s failed", kind, group);
    }
  }
}
