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
  /** A client presenting a node's certificate (its own connections). */
  readonly makeClient: (certificatePem: string, keyPem: string) => KubeClient;
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

/** The nodes' identities (see the file comment). */
export class NodeIdentities {
  private readonly nodes = new Map<string, NodeCredential>();
  private readonly opts: NodeIdentitiesOptions;
  private stopped = false;

  constructor(opts: NodeIdentitiesOptions) {
    this.opts = opts;
  }

  /**
   * Gets every node its certificate (a stored one still valid, else a new request), a few at a
   * time; rejects with the first node's error (a denied or unanswered CSR names its cause).
   */
  async obtain(names: readonly string[]): Promise<void> {
    await forEachLimit(names, this.opts.concurrency ?? 32, async (name) => {
      if (!this.nodes.has(name)) await this.obtainOne(name);
    });
  }

  /** The client presenting node `name`'s certificate (after {@link obtain}). */
  client(name: string): KubeClient | undefined {
    return this.nodes.get(name)?.client;
  }

  /** The node's certificate validity (for figures and `verify`). */
  validity(name: string): CertValidity | undefined {
    return this.nodes.get(name)?.validity;
  }

  /** Stops the renewals and closes every node's connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.nodes.values()) c.cancelRenewal?.();
    await Promise.all([...this.nodes.values()].map((c) => c.client.close()));
  }

  private async obtainOne(name: string): Promise<void> {
    const { clock, certDir } = this.opts;
    const stored = certDir ? await loadCredential(certDir, name) : undefined;
    let cred: { certificatePem: string; keyPem: string; validity: CertValidity };
    if (stored && stored.commonName === nodeUser(name) && stillValid(stored, clock.now())) {
      cred = { certificatePem: stored.certificatePem, keyPem: stored.keyPem, validity: stored };
    } else {
      cred = await this.request(name, this.opts.bootstrap, true);
    }
    const entry: NodeCredential = {
      client: this.opts.makeClient(cred.certificatePem, cred.keyPem),
      validity: cred.validity,
      cancelRenewal: undefined,
      failures: 0,
    };
    this.nodes.set(name, entry);
    this.scheduleRenewal(name, entry);
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
