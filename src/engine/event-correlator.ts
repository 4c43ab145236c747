/*
 * client-go's event correlator (tools/record/events_cache.go), as the kubelet's event broadcaster
 * runs it before it writes an Event: similar events are aggregated (the 10th distinct message of
 * one source, object, type and reason within 10 minutes becomes "(combined from similar events)"),
 * identical ones are counted (a PATCH of `count` instead of a new Event), and a per source+object
 * token bucket (burst 25, one more every 5 minutes) drops the rest. The decisions are functions of
 * the state, the event and `now`; the state is one map shared by the whole process, where
 * client-go keeps three 4096-entry LRU caches per kubelet: each entry goes when it can no longer
 * change a decision (an aggregation record after its 10-minute window, a token bucket once full
 * again, a count after the API server's event TTL) or when the map is over its cap (oldest first),
 * so idle nodes hold nothing. Entries are kept compact (a few numbers each, under a 53-bit hash of
 * client-go's key rather than the key's text), as a process holds them for thousands of nodes.
 */

/** What an Event is about: a core/v1 ObjectReference (a container's has a `fieldPath`). */
export interface InvolvedObject {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid: string;
  readonly apiVersion?: string;
  readonly resourceVersion?: string;
  readonly fieldPath?: string;
}

/** One event as a recorder makes it, before correlation. */
export interface KubeletEvent {
  readonly involvedObject: InvolvedObject;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  /** The reporting component (`kubelet`) and its host (the node's name). */
  readonly component: string;
  readonly host: string;
}

/** What to write for an event after correlation. */
export type CorrelateResult =
  /** Dropped by the spam filter. */
  | { readonly kind: "skip" }
  /** A new Event object. */
  | { readonly kind: "create"; readonly namespace: string; readonly body: EventBody }
  /**
   * A repeat: PATCH (strategic merge) `count`, `lastTimestamp` and `message` of the Event the
   * first occurrence created; `body` is the whole Event, created when the PATCH finds it gone.
   */
  | {
      readonly kind: "patch";
      readonly namespace: string;
      readonly name: string;
      readonly patch: { count: number; lastTimestamp: string; message: string };
      readonly body: EventBody;
    };

/** A core/v1 Event as the kubelet's recorder writes it. */
export interface EventBody {
  apiVersion: "v1";
  kind: "Event";
  metadata: { name: string; namespace: string };
  involvedObject: InvolvedObject;
  reason: string;
  message: string;
  source: { component: string; host: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: string;
  eventTime: null;
  reportingComponent: string;
  reportingInstance: string;
}

/** The correlator's knobs; {@link CLIENT_GO_CORRELATION} has client-go's defaults. */
export interface CorrelationOptions {
  /** Distinct messages of one aggregate key within `aggregateWindowMs` before they are combined. */
  readonly aggregateMaxEvents: number;
  readonly aggregateWindowMs: number;
  /** The spam filter's token bucket per source+object+type. */
  readonly spamBurst: number;
  readonly spamQps: number;
  /** How long a count is kept after its last occurrence (the API server's `--event-ttl`, 1 h). */
  readonly countTtlMs: number;
  /** Most entries the process keeps (oldest evicted first). */
  readonly maxEntries: number;
}

/** client-go's `NewEventCorrelator` defaults (events_cache.go), and the API server's event TTL. */
export const CLIENT_GO_CORRELATION: CorrelationOptions = {
  aggregateMaxEvents: 10,
  aggregateWindowMs: 600_000,
  spamBurst: 25,
  spamQps: 1 / 300,
  countTtlMs: 3_600_000,
  maxEntries: 65_536,
};

/** Aggregation record: the distinct messages seen in the window (their hashes), and when the last came. */
interface AggregateEntry {
  readonly kind: "aggregate";
  expires: number;
  messages: number[];
  last: number;
}

/**
 * Count record: the Event an occurrence created, for the repeats to PATCH: its name is the
 * object's name and `firstMs`/`seq` ({@link eventName}), rebuilt when needed.
 */
interface CountEntry {
  readonly kind: "count";
  expires: number;
  count: number;
  firstMs: number;
  seq: number;
}

/** Spam filter: a passive token bucket. */
interface SpamEntry {
  readonly kind: "spam";
  expires: number;
  tokens: number;
  at: number;
}

type Entry = AggregateEntry | CountEntry | SpamEntry;

/**
 * A 53-bit hash of a string (two 32-bit FNV-1a-style lanes): the map's key in place of client-go's
 * key text. With the map's cap of 65,536 entries, two keys collide with probability below 1e-6.
 */
export function hashKey(s: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** The recorder's Event name: `<object>.<hex nanoseconds>`, `seq` keeping it unique within the process. */
function eventName(objectName: string, firstMs: number, seq: number): string {
  return `${objectName}.${(BigInt(firstMs) * 1_000_000n + BigInt(seq)).toString(16)}`;
}

/** RFC 3339 with seconds, as metav1.Time is written. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const objectKey = (o: InvolvedObject): string =>
  `${o.kind}\u0000${o.namespace ?? ""}\u0000${o.name}\u0000${o.uid}\u0000${o.apiVersion ?? ""}`;

/** client-go's `EventAggregatorByReasonFunc` key (source, object, type, reason, reporter). */
function aggregateKey(e: KubeletEvent): string {
  return `a\u0000${e.component}\u0000${e.host}\u0000${objectKey(e.involvedObject)}\u0000${e.type}\u0000${e.reason}`;
}

/** client-go's `getEventKey`: the aggregate key's parts plus the field path and the message. */
function eventKey(e: KubeletEvent): string {
  return `c\u0000${e.component}\u0000${e.host}\u0000${objectKey(e.involvedObject)}\u0000${e.involvedObject.fieldPath ?? ""}\u0000${e.type}\u0000${e.reason}\u0000${e.message}`;
}

/** client-go's `getSpamKey`: source, object (not the field path) and type. */
function spamKey(e: KubeletEvent): string {
  return `s\u0000${e.component}\u0000${e.host}\u0000${objectKey(e.involvedObject)}\u0000${e.type}`;
}

/**
 * The process's correlation state and client-go's `EventCorrelate` over it. Not thread-bound:
 * one instance serves every node of the process (keys carry the source host).
 */
export class EventCorrelator {
  private readonly entries = new Map<number, Entry>();
  private seq = 0;
  readonly opts: CorrelationOptions;

  constructor(opts: CorrelationOptions = CLIENT_GO_CORRELATION) {
    this.opts = opts;
  }

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Aggregates, counts and filters `e` at `now` (client-go's order), updating the state. */
  correlate(e: KubeletEvent, now: number): CorrelateResult {
    const o = this.opts;
    // Aggregation: a fresh record when the last similar event is older than the window.
    const aText = aggregateKey(e);
    const aKey = hashKey(aText);
    const message = hashKey(e.message);
    let agg = this.get<AggregateEntry>(aKey);
    if (!agg || now - agg.last > o.aggregateWindowMs) {
      // A one-element literal: an empty array grown by push reserves room for 16 more.
      agg = { kind: "aggregate", expires: 0, messages: [message], last: now };
    } else if (!agg.messages.includes(message)) {
      agg.messages.push(message);
    }
    agg.last = now;
    agg.expires = now + o.aggregateWindowMs;
    let event = e;
    let cKey = hashKey(eventKey(e));
    if (agg.messages.length >= o.aggregateMaxEvents) {
      // Do not grow the set past the maximum (client-go pops one).
      agg.messages.shift();
      event = { ...e, message: `(combined from similar events): ${e.message}` };
      // The combined Event is counted under the aggregate key (its own entry).
      cKey = hashKey(`n${aText}`);
    }
    this.put(aKey, agg);
    // Counting: a repeat of an Event this process wrote PATCHes it.
    const nowTs = timestamp(now);
    const namespace = e.involvedObject.namespace || "default";
    const prev = this.get<CountEntry>(cKey);
    const count = (prev?.count ?? 0) + 1;
    const firstMs = prev?.firstMs ?? now;
    const seq = prev?.seq ?? this.nextSeq();
    const name = eventName(e.involvedObject.name, firstMs, seq);
    const first = prev ? timestamp(firstMs) : nowTs;
    this.put(cKey, { kind: "count", expires: now + o.countTtlMs, count, firstMs, seq });
    // The spam filter comes last: a dropped repeat still counts.
    const sKey = hashKey(spamKey(event));
    const spam = this.get<SpamEntry>(sKey) ?? { kind: "spam", expires: 0, tokens: o.spamBurst, at: now };
    spam.tokens = Math.min(o.spamBurst, spam.tokens + ((now - spam.at) / 1000) * o.spamQps);
    spam.at = now;
    const allowed = spam.tokens >= 1;
    if (allowed) spam.tokens -= 1;
    spam.expires = now + ((o.spamBurst - spam.tokens) / o.spamQps) * 1000;
    this.put(sKey, spam);
    this.evict(now);
    if (!allowed) return { kind: "skip" };
    const body: EventBody = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: event.involvedObject,
      reason: event.reason,
      message: event.message,
      source: { component: event.component, host: event.host },
      firstTimestamp: first,
      lastTimestamp: nowTs,
      count,
      type: event.type,
      eventTime: null,
      reportingComponent: event.component,
      reportingInstance: event.host,
    };
    if (prev) {
      return {
        kind: "patch",
        namespace,
        name,
        patch: { count, lastTimestamp: nowTs, message: event.message },
        body,
      };
    }
    return { kind: "create", namespace, body };
  }

  /** The next sequence number for {@link eventName}. */
  private nextSeq(): number {
    this.seq = (this.seq + 1) % 1_000_000;
    return this.seq;
  }

  private get<T extends Entry>(key: number): T | undefined {
    return this.entries.get(key) as T | undefined;
  }

  /** Stores an entry as the most recent one (the map's order is the eviction order). */
  private put(key: number, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /** Drops the oldest entries while they have expired or the map is over its cap. */
  private evict(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expires > now && this.entries.size < this.opts.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
