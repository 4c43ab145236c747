import type { Logger } from "pino";
import type { KubeClient } from "../../client/kube-client.ts";
import type { Clock } from "../../kernel/clock.ts";
import { forEachLimit } from "../../kernel/concurrency.ts";
import { describeError } from "../../kernel/errors.ts";
import { loadCredential, storeCredential } from "./cert-store.ts";
import { requestNodeCertificate, type CsrApi } from "./node-certificate.ts";
import { generateNodeKey, nodeUser, privateKeyPem } from "./node-csr.ts";
import { renewalRetryMs, rotationDeadline, stillValid, type CertValidity } from "./rotation.ts";

/*
 * Every node of the process with its own identity, system:node:<name>, from the kubelet's TLS
 * bootstrap: a certificate requested with the bootstrap credential (or found in --cert-dir), a
 * client of its own that presents it (its own connections), and the certificate manager's
 * renewal at 70-90 % of the validity, requested with the node's current certificate (which the
 * selfnodeclient approval lets through) and put in place by closing the old connections.
 */

/** Options of {@link NodeIdentities}. */
export interface NodeIdentitiesOptions {
  /** The bootstrap credential's client: it creates and watches the nodes' first CSRs. */
  readonly bootstrap: CsrApi;
  /**
   * A node's own client (its own connections), made before its certificate is issued and given it
   * with `useClientCertificate`; nothing may use it before {@link NodeIdentities.ready}.
   */
  readonly makeClient: () => KubeClient;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  /** How long a request may wait for approval and signing (default 5 min). */
  readonly deadlineMs?: number | undefined;
  /** spec.expirationSeconds of the requests; undefined = the signer's default, as the kubelet. */
  readonly expirationSeconds?: number | undefined;
  /** Where certificates and keys are kept (0600); undefined = memory only. */
  readonly certDir?: string | undefined;
  /** CSRs created at once during start-up (default 32). */
  readonly concurrency?: number | undefined;
}

/** The longest timer set at once (a day; Node's timers overflow past 2^31-1 ms, ~24.8 days). */
const MAX_TIMER_MS = 86_400_000;

interface NodeCredential {
  readonly client: KubeClient;
  validity: CertValidity;
  cancelRenewal: (() => void) | undefined;
  failures: number;
}

/** Settles one node's {@link NodeIdentities.ready}. */
interface Waiter {
  resolve(client: KubeClient): void;
  reject(err: unknown): void;
}

/** The nodes' identities (see the file comment). */
export class NodeIdentities {
  private readonly nodes = new Map<string, NodeCredential>();
  /** Each node's certificate as {@link obtain} gets it. */
  private readonly waiting = new Map<string, Promise<KubeClient>>();
  /** Each node's own client, made when {@link obtain} starts for it. */
  private readonly clients = new Map<string, KubeClient>();
  private readonly opts: NodeIdentitiesOptions;
  private stopped = false;

  constructor(opts: NodeIdentitiesOptions) {
    this.opts = opts;
  }

  /**
   * Gets every node its certificate (a stored one still valid, else a new request), a few at a
   * time in the order given; rejects with the first node's error (a denied or unanswered CSR names
   * its cause). Each node may go on as soon as its own is in place ({@link ready}), as a kubelet
   * registers right after its own TLS bootstrap, not after every other node's.
   */
  async obtain(names: readonly string[]): Promise<void> {
    const mine = new Map<string, Waiter>();
    for (const name of names) {
      if (this.waiting.has(name)) continue;
      let waiter: Waiter | undefined;
      const promise = new Promise<KubeClient>((resolve, reject) => (waiter = { resolve, reject }));
      // A node nobody waits for must not make its failure an unhandled rejection.
      promise.catch(() => undefined);
      this.waiting.set(name, promise);
      this.clients.set(name, this.opts.makeClient());
      mine.set(name, waiter!);
    }
    try {
      await forEachLimit(names, this.opts.concurrency ?? 32, async (name) => {
        const waiter = mine.get(name);
        if (!waiter) return;
        mine.delete(name);
        try {
          waiter.resolve(await this.obtainOne(name));
        } catch (err) {
          waiter.reject(err);
          throw err;
        }
      });
    } catch (err) {
      // Nodes not yet requested will not be: they fail with the first error.
      for (const waiter of mine.values()) waiter.reject(err);
      throw err;
    }
  }

  /**
   * Resolves with node `name`'s client once its certificate is in place ({@link obtain} started
   * for it); rejects when its request failed, or was never started.
   */
  ready(name: string): Promise<KubeClient> {
    return (
      this.waiting.get(name) ??
      Promise.reject(new Error(`no client certificate was requested for node ${name}`))
    );
  }

  /**
   * Node `name`'s client, from the start of {@link obtain}: it presents the node's certificate
   * once {@link ready} resolves.
   */
  client(name: string): KubeClient | undefined {
    return this.clients.get(name);
  }

  /** The node's certificate validity (for figures and `verify`). */
  validity(name: string): CertValidity | undefined {
    return this.nodes.get(name)?.validity;
  }

  /** Stops the renewals and closes every node's connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.nodes.values()) c.cancelRenewal?.();
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }

  private async obtainOne(name: string): Promise<KubeClient> {
    const { clock, certDir } = this.opts;
    const stored = certDir ? await loadCredential(certDir, name) : undefined;
    let cred: { certificatePem: string; keyPem: string; validity: CertValidity };
    if (stored && stored.commonName === nodeUser(name) && stillValid(stored, clock.now())) {
      cred = { certificatePem: stored.certificatePem, keyPem: stored.keyPem, validity: stored };
    } else {
      cred = await this.request(name, this.opts.bootstrap, true);
    }
    const client = this.clients.get(name)!;
    await client.useClientCertificate(cred.certificatePem, cred.keyPem);
    const entry: NodeCredential = { client, validity: cred.validity, cancelRenewal: undefined, failures: 0 };
    this.nodes.set(name, entry);
    this.scheduleRenewal(name, entry);
    return client;
  }

  /** One CSR round: a new key, the request, the wait; stores the result where --cert-dir says. */
  private async request(
    name: string,
    api: CsrApi,
    bootstrapName: boolean,
  ): Promise<{ certificatePem: string; keyPem: string; validity: CertValidity }> {
    const key = generateNodeKey();
    const cert = await requestNodeCertificate(api, name, key, {
      clock: this.opts.clock,
      deadlineMs: this.opts.deadlineMs ?? 300_000,
      bootstrapName,
      expirationSeconds: this.opts.expirationSeconds,
    });
    const keyPem = privateKeyPem(key);
    if (this.opts.certDir) await storeCredential(this.opts.certDir, name, cert.certificatePem, keyPem);
    return { certificatePem: cert.certificatePem, keyPem, validity: cert };
  }

  private scheduleRenewal(name: string, entry: NodeCredential): void {
    if (this.stopped) return;
    const { clock, random } = this.opts;
    const now = clock.now();
    const at =
      entry.failures > 0
        ? now + renewalRetryMs(entry.failures, random())
        : rotationDeadline(entry.validity, true, now, random());
    this.waitUntil(name, entry, at);
  }

  /**
   * Renews at `at`. A timer holds at most MAX_TIMER_MS (a longer one fires at once: Node's timers
   * take 32-bit delays, and a year's certificate renews ~10 months on), so a far deadline is
   * reached in steps, the deadline kept.
   */
  private waitUntil(name: string, entry: NodeCredential, at: number): void {
    if (this.stopped) return;
    const wait = Math.max(0, at - this.opts.clock.now());
    entry.cancelRenewal =
      wait > MAX_TIMER_MS
        ? this.opts.clock.setTimer(MAX_TIMER_MS, () => this.waitUntil(name, entry, at))
        : this.opts.clock.setTimer(wait, () => void this.renew(name, entry));
  }

  /** The certificate manager's rotation: a new key and CSR made with the node's own identity. */
  private async renew(name: string, entry: NodeCredential): Promise<void> {
    if (this.stopped) return;
    try {
      const cred = await this.request(name, entry.client, false);
      await entry.client.useClientCertificate(cred.certificatePem, cred.keyPem);
      entry.validity = cred.validity;
      entry.failures = 0;
    } catch (err) {
      entry.failures++;
      this.opts.log.warn(
        { node: name, attempt: entry.failures, err: describeError(err) },
        "client certificate renewal failed; retrying",
      );
    }
    this.scheduleRenewal(name, entry);
  }
}
