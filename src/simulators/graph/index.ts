// The Microsoft Graph simulator: a strict loopback sendMail and Teams channel-message API that records what it accepted.
import { randomUUID } from 'node:crypto';
import { SimClock } from '../common/clock.js';
import { SimHttpError, SimServer, requireBearer, type SimRequest, type SimResponse, type SimRoute } from '../common/server.js';
import { APP_ONLY_POST_MESSAGE, acceptChannelMessage, type RecordedChannelMessage } from './channel.js';
import { acceptSendMail, type RecordedMail } from './mail.js';
import { isPlainObject } from './payload.js';
import { tokenContext } from './tokens.js';

export type { ChatMessage, RecordedChannelMessage } from './channel.js';
export type { MailRecipient, RecordedMail } from './mail.js';

export interface GraphSimulatorOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  clock?: SimClock;
  /** Mailboxes (user ids or userPrincipalNames) that may send; default: any. Others get 404 ErrorInvalidUser. */
  mailboxes?: string[];
}

const SEND_MAIL = /^\/v1\.0\/users\/(?<user>[^/]+)\/sendMail$/i;
const CHANNEL_MESSAGES = /^\/v1\.0\/teams\/(?<teamId>[^/]+)\/channels\/(?<channelId>[^/]+)\/messages$/i;

/** Errors raised by the shared server (unknown route, bad JSON, injected faults) in Graph's codes. */
const SERVER_CODES: Record<string, string> = {
  NotFound: 'itemNotFound',
  MethodNotAllowed: 'invalidRequest',
  TooManyRequests: 'TooManyRequests',
  ServiceUnavailable: 'serviceNotAvailable',
  InternalServerError: 'generalException',
};

/** The shared server names every injected 5xx ServiceUnavailable; Graph says so only for 503. */
function graphCode(status: number, code: string): string {
  if (code === 'ServiceUnavailable' && status !== 503) return 'generalException';
  return SERVER_CODES[code] ?? code;
}

interface RequestIds {
  requestId: string;
  clientRequestId: string;
}

export class GraphSimulator {
  readonly server: SimServer;
  readonly mails: RecordedMail[] = [];
  readonly channelMessages: RecordedChannelMessage[] = [];
  private readonly mailboxes: Set<string> | null;
  /** Ids are chosen when a request arrives so that the recorded mail, the headers and an error body agree. */
  private readonly requestIds = new WeakMap<SimRequest, RequestIds>();
  private sequence = 0;

  constructor(options: GraphSimulatorOptions = {}) {
    this.mailboxes = options.mailboxes ? new Set(options.mailboxes.map((m) => m.toLowerCase())) : null;
    const clock = options.clock ?? new SimClock();
    const bearer = requireBearer('InvalidAuthenticationToken', 'Access token is empty.');
    this.server = new SimServer({
      name: 'graph',
      host: options.host,
      port: options.port,
      clock,
      routes: this.apiRoutes(),
      adminRoutes: this.adminRoutes(),
      errorBody: (status, code, message) => ({
        // The ids are filled in by stampRequestIds, which sees the request.
        error: { code: graphCode(status, code), message, innerError: { date: graphDate(clock.now()), 'request-id': '', 'client-request-id': '' } },
      }),
      authorize: (req) => {
        const refusal = bearer(req);
        return refusal && new SimHttpError(401, refusal.errorCode, refusal.message, { 'WWW-Authenticate': 'Bearer realm="", error="invalid_token"' });
      },
      onRequestStart: (req) => void this.requestIds.set(req, { requestId: randomUUID(), clientRequestId: clientRequestIdOf(req) }),
      responseHeaders: (req, res) => this.stampRequestIds(req, res),
      onReset: () => {
        this.mails.length = 0;
        this.channelMessages.length = 0;
        this.sequence = 0;
      },
    });
  }

  async start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  get url(): string {
    return this.server.url;
  }

  private apiRoutes(): SimRoute[] {
    return [
      { method: 'POST', pattern: SEND_MAIL, handler: (req) => this.sendMail(req) },
      { method: 'POST', pattern: CHANNEL_MESSAGES, handler: (req) => this.postChannelMessage(req) },
    ];
  }

  private adminRoutes(): SimRoute[] {
    return [
      { method: 'GET', pattern: /^\/_sim\/mails$/, handler: () => ({ status: 200, body: { count: this.mails.length, value: this.mails } }) },
      {
        method: 'GET',
        pattern: /^\/_sim\/channel-messages$/,
        handler: () => ({ status: 200, body: { count: this.channelMessages.length, value: this.channelMessages } }),
      },
    ];
  }

  private sendMail(req: SimRequest): SimResponse {
    const sender = decodeSegment(req.params.user ?? '');
    if (this.mailboxes && !this.mailboxes.has(sender.toLowerCase())) {
      throw new SimHttpError(404, 'ErrorInvalidUser', `The requested user '${sender}' is invalid.`);
    }
    const ids = this.idsOf(req);
    const mail = acceptSendMail(req.body, {
      sender,
      ...ids,
      receivedDateTime: this.server.clock.now().toISOString(),
      sequence: this.mails.length + 1,
    });
    this.mails.push(mail);
    return { status: 202 };
  }

  private postChannelMessage(req: SimRequest): SimResponse {
    const teamId = decodeSegment(req.params.teamId ?? '');
    const channelId = decodeSegment(req.params.channelId ?? '');
    const token = tokenContext(req);
    // The simulator has no migration mode, so every app-only post is refused, as outside an import Graph does.
    if (token.kind !== 'delegated') throw new SimHttpError(401, 'Unauthorized', APP_ONLY_POST_MESSAGE);
    const user = { id: token.userId, displayName: token.displayName };
    const message = acceptChannelMessage(req.body, { teamId, channelId, createdAt: this.server.clock.now(), sequence: this.sequence++, user });
    this.channelMessages.push({ teamId, channelId, ...this.idsOf(req), message });
    const context = `${this.url}/v1.0/$metadata#teams('${teamId}')/channels('${channelId}')/messages/$entity`;
    return { status: 201, body: { '@odata.context': context, ...message } };
  }

  private idsOf(req: SimRequest): RequestIds {
    return this.requestIds.get(req) ?? { requestId: randomUUID(), clientRequestId: clientRequestIdOf(req) };
  }

  /** request-id and client-request-id on every API response, and the same ids in an error's innerError. */
  private stampRequestIds(req: SimRequest, res: SimResponse): Record<string, string> {
    const ids = this.idsOf(req);
    const error = isPlainObject(res.body) ? res.body.error : undefined;
    if (isPlainObject(error) && isPlainObject(error.innerError)) {
      error.innerError['request-id'] = ids.requestId;
      error.innerError['client-request-id'] = ids.clientRequestId;
    }
    return { 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId };
  }
}

export function createGraphSimulator(options: GraphSimulatorOptions = {}): GraphSimulator {
  return new GraphSimulator(options);
}

/** Graph echoes the caller's client-request-id and makes one up when there is none. */
function clientRequestIdOf(req: SimRequest): string {
  const sent = req.headers['client-request-id'];
  return typeof sent === 'string' && sent.trim() !== '' ? sent : randomUUID();
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SimHttpError(400, 'BadRequest', `The path segment '${segment}' is not valid percent-encoding.`);
  }
}

/** innerError.date as Graph writes it: ISO-8601 to the second, no zone designator. */
function graphDate(date: Date): string {
  return date.toISOString().slice(0, 19);
}
