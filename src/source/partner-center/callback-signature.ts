// Verifies a Partner Center callback: headers, signing certificate, RSA signature, no replay.
//
// The steps are those of MicrosoftDocs/partner-center-pr
// partner-center/develop/partner-center-webhooks.md ("How to authenticate the callback"): the
// Authorization (scheme Signature), x-ms-certificate-url and x-ms-signature-algorithm headers are
// present; the certificate is downloaded, its chain and its Organization are checked; the UTF-8
// body is verified with the named hash (rsa-sha256). The documents give no timestamp or nonce
// header, so replays are refused here by the signed body's ResourceChangeUtcDate (older than
// maxEventAgeSeconds) and by remembering every signature accepted within that window. The
// certificate URL must start with a configured prefix, so a forged callback can never make the
// worker fetch an address of the sender's choosing.
import { X509Certificate, createVerify } from 'node:crypto';
import { rootCertificates } from 'node:tls';

export class CallbackRefused extends Error {
  override name = 'CallbackRefused';
}

export interface SignatureVerifierOptions {
  certificateUrlPrefixes: readonly string[];
  /** PEM text of the certificates allowed to have issued the signing certificate. */
  trustedIssuersPem?: string;
  organization: string;
  maxEventAgeMs: number;
  /** Downloads a certificate (PEM or DER); injectable for tests. */
  fetchCertificate?: (url: string) => Promise<Buffer>;
  now?: () => number;
}

/** What a verified callback says; the worker uses it only to poll early, never as data. */
export interface VerifiedCallback {
  eventName: string;
  resourceUri: string;
  changedAt: string;
}

const ALGORITHMS: Readonly<Record<string, string>> = { 'rsa-sha256': 'sha256', 'rsa-sha1': 'sha1' };
/** A certificate URL's download is kept this long (the documents rotate it without notice). */
const CERTIFICATE_CACHE_MS = 60 * 60_000;

export class SignatureVerifier {
  private readonly issuers: X509Certificate[];
  private readonly certificates = new Map<string, { cert: X509Certificate; at: number }>();
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: SignatureVerifierOptions) {
    this.now = options.now ?? Date.now;
    const pem = options.trustedIssuersPem ?? rootCertificates.join('\n');
    this.issuers = splitPem(pem).map((block) => new X509Certificate(block));
  }

  /**
   * Resolves what the callback announces, or throws CallbackRefused saying why (the caller answers
   * 401).
   */
  async verify(
    headers: Record<string, string | string[] | undefined>,
    rawBody: Buffer,
  ): Promise<VerifiedCallback> {
    const signature = signatureOf(header(headers, 'authorization'));
    const certificateUrl = header(headers, 'x-ms-certificate-url');
    const algorithm = header(headers, 'x-ms-signature-algorithm')?.toLowerCase();
    if (!certificateUrl) throw new CallbackRefused('the x-ms-certificate-url header is missing');
    if (!algorithm) throw new CallbackRefused('the x-ms-signature-algorithm header is missing');
    const hash = ALGORITHMS[algorithm];
    if (!hash) throw new CallbackRefused(`unsupported signature algorithm "${algorithm}"`);
    const cert = await this.certificate(certificateUrl);
    const verifier = createVerify(hash);
    verifier.update(rawBody);
    if (!verifier.verify(cert.publicKey, signature))
      throw new CallbackRefused('the signature does not match the body');
    const callback = parseEvent(rawBody);
    this.refuseReplay(signature.toString('base64'), callback.changedAt);
    return callback;
  }

  private refuseReplay(signature: string, changedAt: string): void {
    const now = this.now();
    for (const [key, at] of this.seen)
      if (now - at > this.options.maxEventAgeMs) this.seen.delete(key);
    const changed = Date.parse(changedAt);
    if (Number.isNaN(changed)) throw new CallbackRefused('ResourceChangeUtcDate is not a date');
    if (now - changed > this.options.maxEventAgeMs)
      throw new CallbackRefused(`replayed or stale callback (changed at ${changedAt})`);
    if (this.seen.has(signature)) throw new CallbackRefused('replayed callback (signature seen)');
    this.seen.set(signature, now);
  }

  private async certificate(url: string): Promise<X509Certificate> {
    if (!this.options.certificateUrlPrefixes.some((prefix) => url.startsWith(prefix)))
      throw new CallbackRefused(
        `certificate URL ${url} is not under webhooks.certificateUrlPrefixes`,
      );
    const cached = this.certificates.get(url);
    if (cached && this.now() - cached.at < CERTIFICATE_CACHE_MS) return cached.cert;
    const bytes = await (this.options.fetchCertificate ?? downloadCertificate)(url).catch(
      (error: unknown) => {
        throw new CallbackRefused(
          `could not download the certificate: ${(error as Error).message}`,
        );
      },
    );
    const cert = new X509Certificate(bytes);
    this.checkCertificate(cert);
    this.certificates.set(url, { cert, at: this.now() });
    return cert;
  }

  private checkCertificate(cert: X509Certificate): void {
    const now = this.now();
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo))
      throw new CallbackRefused('the signing certificate is not valid now');
    const organizations = cert.subject
      .split('\n')
      .filter((line) => line.startsWith('O='))
      .map((line) => line.slice(2));
    if (!organizations.includes(this.options.organization))
      throw new CallbackRefused(
        `the signing certificate is not issued to ${this.options.organization}`,
      );
    const issuer = this.issuers.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    if (!issuer)
      throw new CallbackRefused('the signing certificate does not chain to a trusted issuer');
  }
}

function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function signatureOf(authorization: string | undefined): Buffer {
  if (!authorization) throw new CallbackRefused('unsigned callback (no Authorization header)');
  const match = /^Signature\s+([A-Za-z0-9+/=]+)$/.exec(authorization.trim());
  if (!match) throw new CallbackRefused('the Authorization scheme must be Signature');
  return Buffer.from(match[1]!, 'base64');
}

function parseEvent(rawBody: Buffer): VerifiedCallback {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new CallbackRefused('the signed body is not JSON');
  }
  const event = (body ?? {}) as Record<string, unknown>;
  const { EventName, ResourceUri, ResourceChangeUtcDate } = event;
  if (typeof EventName !== 'string' || typeof ResourceUri !== 'string')
    throw new CallbackRefused('the body has no EventName / ResourceUri');
  return {
    eventName: EventName,
    resourceUri: ResourceUri,
    changedAt: typeof ResourceChangeUtcDate === 'string' ? ResourceChangeUtcDate : '',
  };
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

async function downloadCertificate(url: string): Promise<Buffer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}
