import type { Clock } from "../kernel/clock.ts";
import { KubeApiError } from "../client/api-error.ts";
import { KubemarkError } from "../kernel/errors.ts";
import type { KubeRequest, WatchStreamHandle, WatchStreamHandlers } from "../client/kube-client.ts";
import type { ProtoType } from "../client/protobuf-schema.ts";

/** What a watcher needs from an API client (KubeClient provides it). */
export interface WatchClient {
  watchStream(
    path: string,
    query: KubeRequest["query"],
    handlers: WatchStreamHandlers,
    proto?: ProtoType,
  ): WatchStreamHandle;
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

/** Starts watches (the engine's context and the hollow proxy's API identity provide it). */
export interface WatchStarter {
  /**
   * Starts a resilient watch; with `proto` in Kubernetes protobuf as a kubelet's client asks for
   * it, its objects read as that type (protobuf-types.ts).
   */
  watch<T extends Versioned>(
    path: string,
    query: KubeRequest["query"],
    handler: WatchHandler<T>,
    proto?: ProtoType,
  ): Watcher<T>;
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
  readonly onError?: (err: unknown, path: string) => void;
  /** Every running watcher is in here while it runs (one shared set: no closure per watcher). */
  readonly registry?: Set<Watcher<Versioned>>;
  /** Called for each (re)open, for metrics. */
  readonly onOpen?: () => void;
  /**
   * An initial list ended after `ms` (`ok`): a WatchList's initial events, or on servers without
   * WatchList the LIST before the watch; or the stream or the LIST ended or failed before it did
   * (not `ok`: at start-up, the API server's watch cache was not fresh within its 3 s). `since`
   * is the clock's reading when that list began, the very one `ms` was measured from.
   */
  readonly onListed?: (ms: number, ok: boolean, since: number) => void;
}

const INITIAL_EVENTS_END = "k8s.io/initial-events-end";

/**
 * One long-running watch that never gives up, as a client-go reflector: starts with the full
 * state (WatchList's initial events, or LIST then WATCH on servers without it), resumes from the
 * last resourceVersion when the server ends the stream (every 5-10 minutes), re-lists on 410
 * Gone, and backs off with jitter on errors.
 *
 * Driven by callbacks and the clock, with no suspended async function per watch: thousands of
 * these stay open at once, so each must cost a few hundred bytes.
 */
export class Watcher<T extends Versioned> {
  private rv = "";
  private stopped = false;
  private backoffMs = 1000;
  private stream: WatchStreamHandle | undefined;
  private cancelTimer: (() => void) | undefined;
  private listAbort: AbortController | undefined;
  /** State of the current stream. */
  private listing = false;
  private events = 0;
  private openedAt = 0;
  private failure: unknown;
  private readonly client: WatchClient;
  private readonly path: string;
  private readonly query: KubeRequest["query"];
  private readonly handler: WatchHandler<T>;
  private readonly opts: WatcherOptions;
  /** The type to ask for in protobuf (undefined: JSON). */
  private readonly proto: ProtoType | undefined;

  constructor(
    client: WatchClient,
    path: string,
    query: KubeRequest["query"],
    handler: WatchHandler<T>,
    opts: WatcherOptions,
    proto?: ProtoType,
  ) {
    this.proto = proto;
    this.client = client;
    this.path = path;
    this.query = query;
    this.handler = handler;
    this.opts = opts;
  }

  /** Starts watching in the background. */
  start(): void {
    this.opts.registry?.add(this);
    this.open();
  }

  /** Ends the watch. */
  stop(): void {
    this.opts.registry?.delete(this);
    this.stopped = true;
    this.cancelTimer?.();
    this.listAbort?.abort();
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
  }

  /**
   * While its initial list is under way (a WatchList's initial events, before the bookmark that
   * ends them): what it lists and since when. Undefined otherwise.
   */
  get listingSince(): { path: string; query: KubeRequest["query"]; since: number } | undefined {
    return this.listing && !this.stopped
      ? { path: this.path, query: this.query, since: this.openedAt }
      : undefined;
  }

  /** Last resourceVersion seen. */
  get resourceVersion(): string {
    return this.rv;
  }

  private open(): void {
    if (this.stopped) return;
    // The API server closes a watch after timeoutSeconds; reflectors pick 5-10 minutes at random.
    const timeoutSeconds = Math.floor(300 + this.opts.random() * 300);
    const query: Record<string, string | number | boolean | undefined> = { ...this.query, timeoutSeconds };
    this.listing = false;
    if (this.rv === "") {
      this.handler.onRelistStart?.();
      if (!this.opts.watchList.enabled) {
        this.list();
        return;
      }
      query["sendInitialEvents"] = true;
      query["resourceVersionMatch"] = "NotOlderThan";
      this.listing = true;
    } else {
      query["resourceVersion"] = this.rv;
    }
    this.opts.onOpen?.();
    this.openedAt = this.opts.clock.now();
    this.events = 0;
    this.failure = undefined;
    this.stream = this.client.watchStream(
      this.path,
      query,
      {
        onEvent: (ev) => this.onEvent(ev.type, ev.object),
        onEnd: (err) => this.onEnd(err),
      },
      this.proto,
    );
  }

  /** LIST then WATCH, for servers without WatchList. */
  private list(): void {
    const abort = new AbortController();
    this.listAbort = abort;
    const listedAt = this.opts.clock.now();
    this.client
      .get<{ metadata: { resourceVersion: string }; items: T[] }>(this.path, this.query, abort.signal)
      .then(
        (list) => {
          if (this.stopped) return;
          this.opts.onListed?.(this.opts.clock.now() - listedAt, true, listedAt);
          for (const item of list.items) this.handler.onEvent("ADDED", item);
          this.rv = list.metadata.resourceVersion;
          this.handler.onSynced?.();
          this.backoffMs = 1000;
          this.open();
        },
        (err: unknown) => {
          if (!this.stopped) this.opts.onListed?.(this.opts.clock.now() - listedAt, false, listedAt);
          this.retry(err);
        },
      );
  }

  private onEvent(type: string, object: unknown): void {
    if (this.stopped) return;
    this.events++;
    if (type === "ERROR") {
      const st = object as { code?: number; message?: string; reason?: string };
      this.failure = new KubeApiError({
        code: st.code === 410 ? "GONE" : "API_ERROR",
        status: st.code ?? 500,
        method: "WATCH",
        path: this.path,
        message: `watch ${this.path}: ${st.code ?? ""} ${st.message ?? ""}`,
        reason: st.reason,
      });
      this.stream?.cancel();
      return;
    }
    const obj = object as T;
    const rv = obj.metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      if (!this.listing) {
        if (rv) this.rv = rv;
      } else if (obj.metadata.annotations?.[INITIAL_EVENTS_END] === "true") {
        this.listing = false;
        this.opts.onListed?.(this.opts.clock.now() - this.openedAt, true, this.openedAt);
        if (rv) this.rv = rv;
        this.handler.onSynced?.();
      }
      return;
    }
    // Initial events come in no resourceVersion order: only the end bookmark says where the list stands.
    if (rv && !this.listing) this.rv = rv;
    this.handler.onEvent(type as "ADDED" | "MODIFIED" | "DELETED", obj);
  }

  private onEnd(err: unknown): void {
    this.stream = undefined;
    if (this.stopped) return;
    const failure = this.failure ?? err;
    this.failure = undefined;
    // A list cut short cannot be resumed: start it over.
    if (this.listing) {
      this.rv = "";
      this.opts.onListed?.(this.opts.clock.now() - this.openedAt, false, this.openedAt);
    }
    if (failure) {
      this.retry(failure);
      return;
    }
    // As client-go's reflector: a watch that ends at once with nothing in it is a failure, so back off.
    if (this.events === 0 && this.opts.clock.now() - this.openedAt < 1000) {
      this.retry(new KubemarkError("API_ERROR", `watch ${this.path} closed at once without any event`));
      return;
    }
    this.backoffMs = 1000;
    this.open();
  }

  private retry(err: unknown): void {
    if (this.stopped) return;
    if (err instanceof KubeApiError && err.status === 410) {
      this.rv = "";
      this.open();
      return;
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
      this.open();
      return;
    }
    this.opts.onError?.(err, this.path);
    const delay = this.backoffMs / 2 + (this.opts.random() * this.backoffMs) / 2;
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    this.cancelTimer = this.opts.clock.setTimer(delay, () => {
      this.cancelTimer = undefined;
      this.open();
    });
  }
}
