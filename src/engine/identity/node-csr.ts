import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
} from "@peculiar/asn1-x509";

/*
 * What a kubelet puts in its client certificate request (pkg/kubelet/certificate/bootstrap and
 * client-go's certificate manager): a fresh ECDSA P-256 key, a PKCS#10 request for
 * O=system:nodes, CN=system:node:<name>, and a CertificateSigningRequest for the signer
 * kubernetes.io/kube-apiserver-client-kubelet. The ASN.1 comes from @peculiar/asn1-csr (the
 * RFC 2986 schema); the key and the signature from node:crypto.
 */

/** The signer whose certificates the API server accepts as a kubelet's client identity. */
export const KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";

/** The group every node's certificate names (its Organization). */
export const NODES_GROUP = "system:nodes";

/** The API path of CertificateSigningRequests. */
export const CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/**
 * The usages a kubelet asks for with an ECDSA key (client-go DefaultKubeletClientGetUsages: key
 * encipherment only for RSA keys); the csrapproving controller accepts exactly these.
 */
export const KUBELET_CLIENT_USAGES: readonly string[] = ["digital signature", "client auth"];

/** The user name a node's certificate gives it. */
export function nodeUser(node: string): string {
  return `system:node:${node}`;
}

/** One node's key pair, in memory only (never logged: {@link describeKey} is what may be shown). */
export interface NodeKey {
  readonly privateKey: KeyObject;
  /** The public key as PKIX DER (SubjectPublicKeyInfo). */
  readonly publicKeyDer: Buffer;
}

/** A new ECDSA P-256 key, as the kubelet's certificate manager generates. */
export function generateNodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicKeyDer: publicKey.export({ type: "spki", format: "der" }) };
}

/** The private key as PEM (SEC 1 "EC PRIVATE KEY", as the kubelet writes it). */
export function privateKeyPem(key: NodeKey): string {
  return key.privateKey.export({ type: "sec1", format: "pem" }).toString();
}

const OID_COMMON_NAME = "2.5.4.3";
const OID_ORGANIZATION = "2.5.4.10";
const OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

function rdn(oid: string, value: string): RelativeDistinguishedName {
  return new RelativeDistinguishedName([
    new AttributeTypeAndValue({ type: oid, value: new AttributeValue({ utf8String: value }) }),
  ]);
}

/** The PKCS#10 request (PEM) for node `node`'s client certificate, signed with its key. */
export function nodeCertificateRequest(node: string, key: NodeKey): string {
  const info = new CertificationRequestInfo({
    subject: new Name([rdn(OID_ORGANIZATION, NODES_GROUP), rdn(OID_COMMON_NAME, nodeUser(node))]),
    subjectPKInfo: AsnConvert.parse(key.publicKeyDer, SubjectPublicKeyInfo),
  });
  // ECDSA signatures from node:crypto are DER (r, s), as X.509 wants them.
  const signature = sign("sha256", Buffer.from(AsnConvert.serialize(info)), key.privateKey);
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 }),
    signature: new Uint8Array(signature).buffer,
  });
  return pem("CERTIFICATE REQUEST", new Uint8Array(AsnConvert.serialize(request)));
}

/**
 * The name the kubelet's bootstrap gives its first CSR (`digestedName`): `node-csr-` and the
 * SHA-512/256 of the public key, the subject and the usages, each base64url'd and `|`-delimited.
 * The same key asks under the same name, so a restarted node that kept its key finds its own
 * request (409, then GET) instead of piling up new ones.
 */
export function bootstrapCsrName(
  node: string,
  publicKeyDer: Buffer,
  usages: readonly string[] = KUBELET_CLIENT_USAGES,
): string {
  const hash = createHash("sha512-256");
  const write = (data: Buffer | string): void => {
    hash.update(Buffer.from(data).toString("base64url"));
    hash.update("|");
  };
  write(publicKeyDer);
  write(nodeUser(node));
  write(NODES_GROUP);
  for (const u of usages) write(u);
  return `node-csr-${hash.digest("base64url")}`;
}

/** The CertificateSigningRequest object a node creates. */
export interface CsrObject {
  readonly apiVersion: "certificates.k8s.io/v1";
  readonly kind: "CertificateSigningRequest";
  readonly metadata: { readonly name?: string; readonly generateName?: string };
  readonly spec: {
    readonly request: string;
    readonly signerName: string;
    readonly usages: readonly string[];
    readonly expirationSeconds?: number;
  };
}

/**
 * The CSR object: named as the bootstrap names it when `name` is given, else `csr-<random>` as the
 * certificate manager's renewals are. `expirationSeconds` undefined = the signer's default
 * (kube-controller-manager's --cluster-signing-duration, a year), as a kubelet asks.
 */
export function csrObject(
  requestPem: string,
  opts: { name?: string | undefined; expirationSeconds?: number | undefined },
): CsrObject {
  return {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: opts.name ? { name: opts.name } : { generateName: "csr-" },
    spec: {
      request: Buffer.from(requestPem).toString("base64"),
      signerName: KUBELET_CLIENT_SIGNER,
      usages: KUBELET_CLIENT_USAGES,
      ...(opts.expirationSeconds !== undefined ? { expirationSeconds: opts.expirationSeconds } : {}),
    },
  };
}
