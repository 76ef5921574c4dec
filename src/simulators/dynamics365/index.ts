// The Dataverse Web API (Dynamics 365 Sales) simulator: a strict loopback server for leads,
// opportunities and their actions.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SimClock } from '../common/clock.js';
import { createRandom } from '../common/random.js';
import { SimHttpError, SimServer, type SimRequest, type SimResponse } from '../common/server.js';
import { adminRoutes } from './admin.js';
import { DataverseApi } from './api.js';
import { BatchRunner } from './batch.js';
import { CODES, odataError } from './errors.js';
import { DEFAULT_LIMITS, ServiceProtection, type Admission } from './limits.js';
import { SERVICE_ROOT_PATH } from './paths.js';
import { DataverseStore } from './store.js';
import { RecordRefusals } from '../common/refusals.js';
import { DATAVERSE_REFUSALS } from './refusals.js';

export { DataverseStore } from './store.js';
export { multipartBoundary, parseBatchResponse, type BatchResponseItem } from './multipart.js';

export interface DynamicsSimulatorOptions {
  host?: string;
  port?: number;
  clock?: SimClock;
  /** service-protection limits, defaults 6000 req / 300 s window and 52 concurrent */
  limits?: {
    requestsPerWindow?: number;
    windowMs?: number;
    concurrent?: number;
    executionMsPerWindow?: number;
  };
  /** Seeds the order of rows that a read's $orderby leaves tied (default 1). */
  seed?: number;
}

/** SimServer's own error codes, said the way Dataverse would. */
const DATAVERSE_CODES: Record<string, string> = {
  NotFound: CODES.odata,
  MethodNotAllowed: CODES.odata,
  BadRequest: CODES.payload,
  TooManyRequests: CODES.tooManyRequests,
  InternalServerError: CODES.unexpected,
  ServiceUnavailable: CODES.unexpected,
};

export function createDynamicsSimulator(options: DynamicsSimulatorOptions = {}): DynamicsSimulator {
  return new DynamicsSimulator(options);
}

export class DynamicsSimulator {
  readonly server: SimServer;
  readonly store: DataverseStore;
  readonly protection: ServiceProtection;
  /**
   * Record-level faults: writes to a given referral's lead fail with a documented error
   * (refusals.ts).
   */
  readonly refusals = new RecordRefusals(DATAVERSE_REFUSALS);
  private readonly admissions = new WeakMap<SimRequest, Admission>();

  constructor(options: DynamicsSimulatorOptions = {}) {
    const clock = options.clock ?? new SimClock();
    this.store = new DataverseStore(clock);
    this.protection = new ServiceProtection(
      { ...DEFAULT_LIMITS, ...definedLimits(options.limits) },
      clock,
    );
    const ties = createRandom(options.seed ?? 1);
    const api = new DataverseApi(
      this.store,
      () => this.apiUrl,
      () => ties.int(0, 0x7fffffff),
      (key) => this.refusals.take(key),
    );
    const batch = new BatchRunner(api, this.store, (error) => this.errorResponse(error));
    const apiPath = SERVICE_ROOT_PATH.replace(/[./]/g, (char) => `\\${char}`);
    this.server = new SimServer({
      name: 'dynamics365',
      host: options.host,
      port: options.port,
      clock,
      routes: [
        {
          method: 'POST',
          pattern: new RegExp(`^${apiPath}\\$batch$`),
          handler: (req) => batch.handle(req, headersOf(req.headers)),
        },
        ...['GET', 'POST', 'PATCH', 'DELETE'].map((method) => ({
          method,
          pattern: new RegExp(`^${apiPath}(?<resource>.+)$`),
          handler: (req: SimRequest) => api.handle(callOf(req)),
        })),
      ],
      adminRoutes: [...adminRoutes(this.store), ...this.refusals.routes()],
      errorBody: (_status, code, message) => ({
        error: { code: DATAVERSE_CODES[code] ?? code, message },
      }),
      onRequestStart: (req) => this.admit(req),
      authorize: (req) => this.authorize(req),
      responseHeaders: (req) => this.responseHeaders(req),
      onReset: () => {
        this.store.clear();
        this.protection.clear();
        this.refusals.clear();
      },
    });
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  get url(): string {
    return this.server.url;
  }

  /** `${url}/api/data/v9.2/` */
  get apiUrl(): string {
    return `${this.server.url}${SERVICE_ROOT_PATH}`;
  }

  /**
   * Service protection is decided on arrival, so requests waiting on latency count as in flight.
   */
  private admit(req: SimRequest): (() => void) | void {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) return;
    const admission = this.protection.admit(token);
    this.admissions.set(req, admission);
    return admission.release;
  }

  private authorize(req: SimRequest): SimHttpError | null {
    if (bearerToken(req.headers.authorization) === undefined) {
      return new SimHttpError(
        401,
        'Unauthorized',
        'The request has no bearer token: send Authorization: Bearer <access token>.',
        {
          'WWW-Authenticate':
            `Bearer ` +
            `authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, ` +
            `resource_id=${this.url}`,
        },
      );
    }
    return this.admissions.get(req)?.refusal ?? null;
  }

  private responseHeaders(req: SimRequest): Record<string, string> {
    const headers: Record<string, string> = { 'OData-Version': '4.0', REQ_ID: randomUUID() };
    const token = bearerToken(req.headers.authorization);
    if (token !== undefined) {
      // Both on every response, as Dataverse sends them (powerapps-docs
      // developer/data-platform/api-limits.md).
      headers['x-ms-ratelimit-burst-remaining-xrm-requests'] = String(
        this.protection.remaining(token),
      );
      headers['x-ms-ratelimit-time-remaining-xrm-requests'] = this.protection
        .timeRemainingSeconds(token)
        .toFixed(2);
    }
    return headers;
  }

  private errorResponse(error: SimHttpError): SimResponse {
    return {
      status: error.status,
      headers: { 'Content-Type': 'application/json; odata.metadata=minimal', ...error.headers },
      body: { error: { code: error.errorCode, message: error.message } },
    };
  }
}

function definedLimits(limits: DynamicsSimulatorOptions['limits']): Partial<typeof DEFAULT_LIMITS> {
  return Object.fromEntries(
    Object.entries(limits ?? {}).filter(([, value]) => value !== undefined),
  );
}

function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** Header names lower-cased, repeated headers joined, as inside a $batch part. */
function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined)
      flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function callOf(req: SimRequest) {
  let resource: string;
  try {
    resource = decodeURIComponent(req.params.resource ?? '');
  } catch {
    throw odataError(`The URL path '${req.path}' is not validly percent-encoded.`);
  }
  return {
    method: req.method,
    resource,
    query: req.query,
    headers: headersOf(req.headers),
    rawBody: req.rawBody,
  };
}
