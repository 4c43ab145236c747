import type { Clock } from "../clock.ts";
import { KubeApiError } from "../client/api-error.ts";
import { KubemarkError } from "../errors.ts";
import type { KubeRequest, WatchEvent } from "../client/kube-client.ts";

/** What a watcher needs from an API client (KubeClient provides it). */
export interface WatchClient {
  watch<T>(path: string, query: KubeRequest["query"], signal?: AbortSignal): AsyncGenerator<WatchEvent<T>>;
  get<T>(path: string, query?: KubeRequest["query"], signal?: AbortSignal): Promise<T>;
}

/** Objects a watcher can track (every API object has this). */
export interface Versioned {
  metadata: { resourceVersion?: string; annotations?: Record<string, string> };
}

/** Receives what a watch sees. */
export interface WatchHandler<T> {
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", obj: T): void;
  /** A full list starts (first start, or after 410 Gone): objects not re-announced before onSynced are gone. */
  onRelistStart?(): void;
  /** The full list has been delivered. */
  onSynced?(): void;
}

/** Shared, process-wide: whether the API server accepts WatchList (`sendInitialEvents`). */
export interface WatchListSupport {
  enabled: boolean;
}

/** Options of a {@link Watcher}. */
export interface WatcherOptions {
  readonly clock: Clock;
  readonly random: () => number;
  readonly watchList: WatchListSupport;
  /** Reported once per failure (the watcher retries on its own). */
  readonly onError?: (err: unknown) => void;
  /** Called for each (re)open, for metrics. */
  readonly onOpen?: () => void;
}

const INITIAL_EVENTS_END = "k8s.io/initial-events-end";

/**
 * One long-running watch that never gives up, as a client-go reflector: starts with the full
 * state (WatchList's initial events, or LIST then WATCH on servers without it), resumes from the
 * last resourceVersion when the server ends the stream (every 5-10 minutes), re-lists on 410
 * Gone, and backs off with jitter on errors.
 */
export class Watcher<T extends Versioned> {
  private rv = "";
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly client: WatchClient;
  private readonly path: string;
  private readonly query: KubeRequest["query"];
  private readonly handler: WatchHandler<T>;
  private readonly opts: WatcherOptions;

  constructor(
    client: WatchClient,
    path: string,
    query: KubeRequest["query"],
    handler: WatchHandler<T>,
    opts: WatcherOptions,
  ) {
    this.client = client;
    this.path = path;
    this.query = query;
    this.handler = handler;
    this.opts = opts;
  }

  /** Starts the loop in the background. */
  start(): void {
    void this.loop();
  }

  /** Ends the watch. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  /** Last resourceVersion seen. */
  get resourceVersion(): string {
    return this.rv;
  }

  private async loop(): Promise<void> {
    let backoffMs = 1000;
    while (!this.stopped) {
      try {
        await this.once();
        backoffMs = 1000;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof KubeApiError && err.status === 410) {
          this.rv = "";
          continue;
        }
        if (
          err instanceof KubeApiError &&
          (err.status === 400 || err.status === 422) &&
          /sendInitialEvents|WatchList/i.test(err.message) &&
          this.opts.watchList.enabled
        ) {
          // This server has no WatchList: fall back to LIST + WATCH for every watcher of the process.
          this.opts.watchList.enabled = false;
          this.rv = "";
          continue;
        }
        this.opts.onError?.(err);
        const delay = backoffMs / 2 + (this.opts.random() * backoffMs) / 2;
        backoffMs = Math.min(backoffMs * 2, 30_000);
        try {
          await this.opts.clock.sleep(delay, this.abort.signal);
        } catch {
          return;
        }
      }
    }
  }

  private async once(): Promise<void> {
    // The API server closes a watch after timeoutSeconds; reflectors pick 5-10 minutes at random.
    const timeoutSeconds = Math.floor(300 + this.opts.random() * 300);
    const query: Record<string, string | number | boolean | undefined> = { ...this.query, timeoutSeconds };
    let listing = false;
    if (this.rv === "") {
      this.handler.onRelistStart?.();
      if (this.opts.watchList.enabled) {
        query["sendInitialEvents"] = true;
        query["resourceVersionMatch"] = "NotOlderThan";
        listing = true;
      } else {
        const list = await this.client.get<{ metadata: { resourceVersion: string }; items: T[] }>(
          this.path,
          this.query,
          this.abort.signal,
        );
        for (const item of list.items) this.handler.onEvent("ADDED", item);
        this.rv = list.metadata.resourceVersion;
        this.handler.onSynced?.();
      }
    }
    if (this.rv !== "") query["resourceVersion"] = this.rv;
    this.opts.onOpen?.();
    const openedAt = this.opts.clock.now();
    let events = 0;
    for await (const ev of this.client.watch<T | { code?: number; message?: string }>(
      this.path,
      query,
      this.abort.signal,
    )) {
      events++;
      if (ev.type === "ERROR") {
        const st = ev.object as { code?: number; message?: string; reason?: string };
        throw new KubeApiError({
          code: st.code === 410 ? "GONE" : "API_ERROR",
          status: st.code ?? 500,
          method: "WATCH",
          path: this.path,
          message: `watch ${this.path}: ${st.code ?? ""} ${st.message ?? ""}`,
          reason: st.reason,
        });
      }
      const obj = ev.object as T;
      const rv = obj.metadata?.resourceVersion;
      if (ev.type === "BOOKMARK") {
        if (!listing) {
          if (rv) this.rv = rv;
        } else if (obj.metadata.annotations?.[INITIAL_EVENTS_END] === "true") {
          listing = false;
          if (rv) this.rv = rv;
          this.handler.onSynced?.();
        }
        continue;
      }
      // Initial events come in no resourceVersion order: only the end bookmark says where the list stands.
      if (rv && !listing) this.rv = rv;
      this.handler.onEvent(ev.type, obj);
    }
    // A list cut short cannot be resumed: start it over.
    if (listing) this.rv = "";
    // As client-go's reflector: a watch that ends at once with nothing in it is a failure, so back off.
    if (events === 0 && this.opts.clock.now() - openedAt < 1000) {
      throw new KubemarkError("API_ERROR", `watch ${this.path} closed at once without any event`);
    }
  }
}
