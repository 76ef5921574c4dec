// Many organisations on one port: /orgs/<org>/... goes to that org's own simulator, created on
// first use.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An org's own simulator, as every bundled simulator starts and stops. */
export interface OrgSimulator {
  url: string;
  stop(): Promise<void>;
}

export interface OrgRouterOptions {
  /** partner-center, dynamics365, ... (for messages) */
  name: string;
  host: string;
  port: number;
  /** Starts one org's simulator on a free loopback port (its own state, seeded for that org). */
  create: (org: string) => Promise<OrgSimulator>;
}

const ORG = /^\/orgs\/([A-Za-z0-9_-]{1,64})(\/.*)?$/;

/**
 * A thin partitioning wrapper: the simulators' own files do not change. Each org's requests are
 * forwarded
 * to its simulator unchanged (path without the prefix, method, headers, body), and its answers come
 * back
 * unchanged, so every org is as strict as a single simulator. `PUT /_sim/faults` on the router
 * applies a
 * fault config (e.g. latency) to every org, present and future; `GET /_sim/orgs` lists the orgs.
 */
export class OrgRouter {
  private readonly orgs = new Map<string, Promise<OrgSimulator>>();
  private readonly server: http.Server;
  private faults: string | null = null;
  private baseUrl: string | null = null;

  constructor(private readonly options: OrgRouterOptions) {
    this.server = http.createServer((req, res) => void this.dispatch(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://${this.options.host}:${port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    const all = await Promise.allSettled(this.orgs.values());
    await Promise.allSettled(
      all.flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop()] : [])),
    );
  }

  private org(name: string): Promise<OrgSimulator> {
    let found = this.orgs.get(name);
    if (!found) {
      found = this.options.create(name).then(async (simulator) => {
        if (this.faults !== null) await put(`${simulator.url}/_sim/faults`, this.faults);
        return simulator;
      });
      this.orgs.set(name, found);
    }
    return found;
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://router');
    const match = ORG.exec(url.pathname);
    try {
      if (match) return await this.forward(req, res, match[1]!, (match[2] ?? '/') + url.search);
      if (url.pathname === '/_sim/orgs' && req.method === 'GET')
        return reply(res, 200, { orgs: [...this.orgs.keys()].sort() });
      if (url.pathname === '/_sim/faults' && req.method === 'PUT') {
        this.faults = await readBody(req);
        const all = await Promise.all(this.orgs.values());
        for (const simulator of all) await put(`${simulator.url}/_sim/faults`, this.faults);
        return reply(res, 200, { orgs: all.length });
      }
      reply(res, 404, {
        error: {
          code: 'NotFound',
          message:
            `the multi-org ${this.options.name} simulator serves /orgs/<org>/...; ` +
            `nothing at ${url.pathname}`,
        },
      });
    } catch (error) {
      reply(res, 502, { error: { code: 'BadGateway', message: (error as Error).message } });
    }
  }

  /**
   * Forwards like a rewriting reverse proxy: URLs of the router's org in the request body (a
   * Dataverse
   * $batch names each operation by absolute URL) become the org simulator's, and the simulator's
   * own URLs
   * in answers (nextLink, OData-EntityId, Location) become the router's, so clients only ever see
   * the org.
   */
  private async forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    org: string,
    rest: string,
  ): Promise<void> {
    const inner = (await this.org(org)).url;
    const outer = `http://${req.headers.host ?? 'localhost'}/orgs/${org}`;
    const body = (await readBody(req)).split(outer).join(inner).split(`/orgs/${org}/`).join('/');
    const target = new URL(rest, inner);
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
    if (body.length > 0) headers['content-length'] = String(Buffer.byteLength(body));
    const answer = await new Promise<{
      status: number;
      headers: http.IncomingHttpHeaders;
      text: string;
    }>((resolve, reject) => {
      const upstream = http.request(target, { method: req.method, headers }, (response) => {
        readBody(response).then(
          (text) =>
            resolve({ status: response.statusCode ?? 502, headers: response.headers, text }),
          reject,
        );
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
    const text = answer.text.split(inner).join(outer);
    const out: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined || name === 'transfer-encoding' || name === 'connection') continue;
      out[name] = typeof value === 'string' ? value.split(inner).join(outer) : value;
    }
    if (answer.text.length > 0 || 'content-length' in out)
      out['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(answer.status, out);
    res.end(text);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function put(url: string, body: string): Promise<void> {
  const response = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
