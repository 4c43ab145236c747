/**
 * A watch stream as both transports (undici in kube-client.ts, the lean HTTP/2 client in
 * h2-client.ts) deliver it: the events, the handlers that receive them and the handle that ends it.
 */

/** A watch event as the API server streams it. */
export interface WatchEvent<T = unknown> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

/** Receives a watch stream's events (see {@link KubeClient.watchStream}). */
export interface WatchStreamHandlers {
  onEvent(ev: WatchEvent<unknown>): void;
  /** Called once: without an error when the server ended the stream, with one otherwise. */
  onEnd(err?: unknown): void;
}

/** An open watch stream. */
export interface WatchStreamHandle {
  /** Ends the stream; onEnd is called without an error. */
  cancel(): void;
}

/** Drives watch-stream handlers from an async iterator of events (the general, heavier path). */
export function streamFromIterator(
  open: (signal: AbortSignal) => AsyncIterable<WatchEvent<unknown>>,
  handlers: WatchStreamHandlers,
): WatchStreamHandle {
  const abort = new AbortController();
  let ended = false;
  const end = (err?: unknown): void => {
    if (ended) return;
    ended = true;
    handlers.onEnd(err);
  };
  void (async () => {
    try {
      for await (const ev of open(abort.signal)) {
        if (ended) return;
        handlers.onEvent(ev);
      }
      end();
    } catch (err) {
      end(abort.signal.aborted ? undefined : err);
    }
  })();
  return {
    cancel: () => {
      abort.abort();
      end();
    },
  };
}
