/*
 * The kubelet endpoints' serving certificate, made in-process: the engine runs in-cluster on the
 * stock node:24-slim image, which has no openssl. A kubelet given no --tls-cert-file does the same
 * (client-go's certutil.GenerateSelfSignedCertKey at start-up): a self-signed serving certificate,
 * valid from an hour ago (clock skew) for a year, kept in memory here, never written or logged.
 * The API server does not verify kubelets' serving certificates unless given
 * --kubelet-certificate-authority, and metrics-server needs --kubelet-insecure-tls for them, as for
 * any kubelet's default certificate. The ASN.1 comes from @peculiar/asn1-x509 (the RFC 5280
 * schema), the key and the ECDSA signature from node:crypto.
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_serverAuth,
} from "@peculiar/asn1-x509";

/** A TLS server certificate and its key, PEM. */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
}

const OID_COMMON_NAME = "2.5.4.3";
const OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const HOUR_MS = 3_600_000;
/** client-go's self-signed certificates: valid from an hour back, for a year. */
const BACKDATE_MS = HOUR_MS;
const VALIDITY_MS = 365 * 24 * HOUR_MS;

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** A positive 128-bit serial number (the INTEGER's top bit clear, never zero). */
function serialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return new Uint8Array(bytes).buffer;
}

/**
 * A self-signed serving certificate (EC P-256 key, ECDSA-SHA256, one year from `nowMs` less an
 * hour) with subject CN=`commonName` and `ip` as its IP SAN; usages digital signature and server
 * auth, not a CA. The key exists only in the returned PEM.
 */
export function selfSignedCertificate(commonName: string, ip: string, nowMs: number): ServingCertificate {
  if (isIP(ip) === 0) throw new Error(`a serving certificate's IP SAN must be an IP address, got "${ip}"`);
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: OID_COMMON_NAME,
        value: new AttributeValue({ utf8String: commonName }),
      }),
    ]),
  ]);
  const algorithm = new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: algorithm,
    issuer: name,
    validity: new Validity({
      notBefore: new Date(nowMs - BACKDATE_MS),
      notAfter: new Date(nowMs + VALIDITY_MS),
    }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(
      publicKey.export({ type: "spki", format: "der" }),
      SubjectPublicKeyInfo,
    ),
    extensions: new Extensions([
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      extension(
        id_ce_subjectAltName,
        false,
        new SubjectAlternativeName([new GeneralName({ iPAddress: ip })]),
      ),
    ]),
  });
  // ECDSA signatures from node:crypto are DER (r, s), as X.509 wants them.
  const signature = sign("sha256", Buffer.from(AsnConvert.serialize(tbs)), privateKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: new Uint8Array(signature).buffer,
  });
  return {
    cert: pem("CERTIFICATE", new Uint8Array(AsnConvert.serialize(cert))),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
