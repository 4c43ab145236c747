/*
 * The kubelet's caches of webhook answers (k8s.io/apiserver's cached token authenticator and
 * webhook authorizer, with the kubelet's defaults): a TokenReview's answer is kept 2 minutes, a
 * SubjectAccessReview's 5 minutes when allowed and 30 seconds when not. Bounded (least recently
 * used entries go first), and a question already being asked is not asked again: concurrent
 * scrapes of one node by one client make one review.
 */
import type { Clock } from "../../kernel/clock.ts";

/** The kubelet's `authentication.webhook.cacheTTL` default. */
export const TOKEN_REVIEW_TTL_MS = 2 * 60_000;
/** The kubelet's `authorization.webhook.cacheAuthorizedTTL` default. */
export const AUTHORIZED_TTL_MS = 5 * 60_000;
/** The kubelet's `authorization.webhook.cacheUnauthorizedTTL` default. */
export const UNAUTHORIZED_TTL_MS = 30_000;

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/** An expiring LRU cache of answers, with the questions in flight shared. */
export class ReviewCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<V>>();
  private readonly clock: Clock;
  private readonly capacity: number;
  private readonly ttl: (value: V) => number;

  /** `ttl` gives how long an answer is kept (ms); `capacity` bounds the entries kept. */
  constructor(clock: Clock, capacity: number, ttl: (value: V) => number) {
    this.clock = clock;
    this.capacity = Math.max(1, capacity);
    this.ttl = ttl;
  }

  /** Entries kept (expired ones included until touched or pushed out). */
  get size(): number {
    return this.entries.size;
  }

  /** The answer kept for `key`, if fresh. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expiresAt <= this.clock.now()) return undefined;
    // Re-inserted: a Map keeps insertion order, so the first key is the least recently used.
    this.entries.set(key, e);
    return e.value;
  }

  /** Keeps `value` for `key` for its TTL. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.clock.now() + this.ttl(value) });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /**
   * The answer for `key`: kept, or being asked already, or asked now with `ask` (kept on success;
   * a failure is not kept, so the next request asks again).
   */
  async resolve(key: string, ask: () => Promise<V>): Promise<V> {
    const kept = this.get(key);
    if (kept !== undefined) return kept;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = ask().then(
      (v) => {
        this.inFlight.delete(key);
        this.set(key, v);
        return v;
      },
      (err: unknown) => {
        this.inFlight.delete(key);
        throw err;
      },
    );
    this.inFlight.set(key, p);
    return p;
  }
}
