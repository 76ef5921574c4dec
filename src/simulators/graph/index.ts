// The Microsoft Graph simulator: a strict loopback sendMail and Teams channel-message API that
// records what it accepted.
import { randomUUID } from 'node:crypto';
import { SimClock } from '../common/clock.js';
import {
  SimHttpError,
  SimServer,
  requireBearer,
  type SimRequest,
  type SimResponse,
  type SimRoute,
} from '../common/server.js';
import {
  APP_ONLY_POST_MESSAGE,
  acceptChannelMessage,
  type RecordedChannelMessage,
} from './channel.js';
import { acceptSendMail, type RecordedMail } from './mail.js';
import { isPlainObject } from './payload.js';
import { requirePermission, tokenContext } from './tokens.js';
import {
  DEFAULT_WORKFLOW,
  WORKFLOW_TRIGGER,
  authorizeTrigger,
  cardsToPost,
  workflowUrl,
  type TeamsWebhookPost,
  type TeamsWorkflow,
  type WorkflowRun,
} from './workflows.js';

export type { RecordedChannelMessage } from './channel.js';
export type { RecordedMail } from './mail.js';
export type { TeamsWebhookPost, TeamsWorkflow, WorkflowRun } from './workflows.js';
export { DEFAULT_WORKFLOW, workflowUrl } from './workflows.js';

export interface GraphSimulatorOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  clock?: SimClock;
  /**
   * Mailboxes (user ids or userPrincipalNames) that may send; default: any. Others get 404
   * ErrorInvalidUser.
   */
  mailboxes?: string[];
  /**
   * Teams Workflows webhooks ("Post to a channel when a webhook request is received"); default:
   * one.
   */
  workflows?: TeamsWorkflow[];
}

const SEND_MAIL = /^\/v1\.0\/users\/(?<user>[^/]+)\/sendMail$/i;
const CHANNEL_MESSAGES =
  /^\/v1\.0\/teams\/(?<teamId>[^/]+)\/channels\/(?<channelId>[^/]+)\/messages$/i;

/**
 * From the permissions tables of user-sendmail.md and channel-post-messages.md
 * (microsoft-graph-docs-contrib, v1.0).
 */
const SEND_MAIL_PERMISSIONS = { delegated: ['Mail.Send'], application: ['Mail.Send'] };
const CHANNEL_MESSAGE_PERMISSIONS = {
  delegated: ['ChannelMessage.Send', 'Group.ReadWrite.All'],
  application: ['Teamwork.Migrate.All'],
};

/**
 * Errors raised by the shared server (unknown route, bad JSON, injected faults) in Graph's codes.
 */
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
  /** Every webhook request a workflow ran, and the cards the successful runs posted. */
  readonly workflowRuns: WorkflowRun[] = [];
  readonly teamsWebhookPosts: TeamsWebhookPost[] = [];
  private readonly workflows: Map<string, TeamsWorkflow>;
  private readonly mailboxes: Set<string> | null;
  /**
   * Ids are chosen when a request arrives so that the recorded mail, the headers and an error body
   * agree.
   */
  private readonly requestIds = new WeakMap<SimRequest, RequestIds>();
  private sequence = 0;

  constructor(options: GraphSimulatorOptions = {}) {
    this.mailboxes = options.mailboxes
      ? new Set(options.mailboxes.map((m) => m.toLowerCase()))
      : null;
    this.workflows = new Map((options.workflows ?? [DEFAULT_WORKFLOW]).map((w) => [w.id, w]));
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
        error: {
          code: graphCode(status, code),
          message,
          innerError: { date: graphDate(clock.now()), 'request-id': '', 'client-request-id': '' },
        },
      }),
      authorize: (req) => {
        // A workflow URL authenticates by its signature, not a bearer token.
        if (WORKFLOW_TRIGGER.test(req.path)) return null;
        const refusal = bearer(req);
        return (
          refusal &&
          new SimHttpError(401, refusal.errorCode, refusal.message, {
            'WWW-Authenticate': 'Bearer realm="", error="invalid_token"',
          })
        );
      },
      onRequestStart: (req) =>
        void this.requestIds.set(req, {
          requestId: randomUUID(),
          clientRequestId: clientRequestIdOf(req),
        }),
      responseHeaders: (req, res) => this.stampRequestIds(req, res),
      onReset: () => {
        this.mails.length = 0;
        this.channelMessages.length = 0;
        this.workflowRuns.length = 0;
        this.teamsWebhookPosts.length = 0;
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

  /** The URL Workflows shows the admin for this workflow (default: the first one). */
  workflowUrl(id?: string): string {
    const workflow = id === undefined ? [...this.workflows.values()][0] : this.workflows.get(id);
    if (!workflow) throw new Error(`no workflow ${id ?? ''} in the Graph simulator`);
    return workflowUrl(this.url, workflow);
  }

  private apiRoutes(): SimRoute[] {
    return [
      { method: 'POST', pattern: SEND_MAIL, handler: (req) => this.sendMail(req) },
      { method: 'POST', pattern: CHANNEL_MESSAGES, handler: (req) => this.postChannelMessage(req) },
      { method: 'POST', pattern: WORKFLOW_TRIGGER, handler: (req) => this.triggerWorkflow(req) },
    ];
  }

  private adminRoutes(): SimRoute[] {
    return [
      {
        method: 'GET',
        pattern: /^\/_sim\/mails$/,
        handler: () => ({ status: 200, body: { count: this.mails.length, value: this.mails } }),
      },
      {
        method: 'GET',
        pattern: /^\/_sim\/channel-messages$/,
        handler: () => ({
          status: 200,
          body: { count: this.channelMessages.length, value: this.channelMessages },
        }),
      },
      {
        method: 'GET',
        pattern: /^\/_sim\/teams-webhook$/,
        handler: () => ({
          status: 200,
          body: {
            count: this.teamsWebhookPosts.length,
            value: this.teamsWebhookPosts,
            runs: this.workflowRuns,
            workflows: [...this.workflows.values()].map((w) => ({
              id: w.id,
              teamId: w.teamId,
              channelId: w.channelId,
              url: workflowUrl(this.url, w),
            })),
          },
        }),
      },
    ];
  }

  private sendMail(req: SimRequest): SimResponse {
    requirePermission(tokenContext(req), SEND_MAIL_PERMISSIONS, 'mail');
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
    // The simulator has no migration mode, so every app-only post is refused, as outside an import
    // Graph does.
    if (token.kind !== 'delegated')
      throw new SimHttpError(401, 'Unauthorized', APP_ONLY_POST_MESSAGE);
    requirePermission(token, CHANNEL_MESSAGE_PERMISSIONS, 'teams');
    const user = { id: token.userId, displayName: token.displayName };
    const message = acceptChannelMessage(req.body, {
      teamId,
      channelId,
      createdAt: this.server.clock.now(),
      sequence: this.sequence++,
      user,
    });
    this.channelMessages.push({ teamId, channelId, ...this.idsOf(req), message });
    const context =
      `${this.url}/v1.0/$metadata#teams('${teamId}')/channels('${channelId}` +
      `')/messages/$entity`;
    return { status: 201, body: { '@odata.context': context, ...message } };
  }

  /**
   * The trigger answers 202 as soon as the request is authenticated; the flow then posts the cards,
   * or fails.
   */
  private triggerWorkflow(req: SimRequest): SimResponse {
    const workflow = authorizeTrigger(
      this.workflows,
      decodeSegment(req.params.workflowId ?? ''),
      req.query.get('sig'),
    );
    const runId = `08584${String(this.workflowRuns.length + 1).padStart(15, '0')}CU00`;
    const now = this.server.clock.now().toISOString();
    const outcome = cardsToPost(req.body, Buffer.byteLength(req.rawBody, 'utf8'));
    const failed = 'error' in outcome;
    this.workflowRuns.push({
      runId,
      workflowId: workflow.id,
      receivedDateTime: now,
      status: failed ? 'Failed' : 'Succeeded',
      error: failed ? outcome.error : null,
      payload: req.body,
    });
    if (!failed) {
      for (const card of outcome.cards) {
        this.teamsWebhookPosts.push({
          runId,
          workflowId: workflow.id,
          teamId: workflow.teamId,
          channelId: workflow.channelId,
          postedDateTime: now,
          card,
        });
      }
    }
    return { status: 202, headers: { 'x-ms-workflow-run-id': runId } };
  }

  private idsOf(req: SimRequest): RequestIds {
    return (
      this.requestIds.get(req) ?? {
        requestId: randomUUID(),
        clientRequestId: clientRequestIdOf(req),
      }
    );
  }

  /**
   * request-id and client-request-id on every API response, and the same ids in an error's
   * innerError.
   */
  private stampRequestIds(req: SimRequest, res: SimResponse): Record<string, string> {
    const ids = this.idsOf(req);
    const error = isPlainObject(res.body) ? res.body.error : undefined;
    if (WORKFLOW_TRIGGER.test(req.path)) {
      // A workflow trigger is Power Automate, not Graph: its error body is {error: {code, message}}
      // alone.
      if (isPlainObject(error)) delete error.innerError;
      return {};
    }
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
    throw new SimHttpError(
      400,
      'BadRequest',
      `The path segment '${segment}' is not valid percent-encoding.`,
    );
  }
}

/** innerError.date as Graph writes it: ISO-8601 to the second, no zone designator. */
function graphDate(date: Date): string {
  return date.toISOString().slice(0, 19);
}
