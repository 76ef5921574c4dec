// Teams alerts through a Workflows webhook URL: one POST of an Adaptive Card message, and the
// trigger's answer as an error.
import { LeadbridgeError, NETWORK_ERROR_CODES, normaliseError } from '../core/errors.js';
import type { ApiClientOptions } from '../core/http.js';
import { parseRetryAfter } from '../core/http.js';
import type { AdaptiveCard } from './alerts-content.js';

export const TEAMS_WEBHOOK_API = 'teams-webhook';
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The body the Workflows template "Post to a channel when a webhook request is received" posts
 * from: a message whose
 * attachments are Adaptive Cards. Source: MicrosoftDocs/msteams-docs
 * msteams-platform/webhooks-and-connectors/how-to/connectors-using.md ("Send Adaptive Cards using
 * an Incoming Webhook":
 * type "message", attachments[].contentType application/vnd.microsoft.card.adaptive, content = the
 * card).
 */
interface TeamsWebhookMessage {
  type: 'message';
  attachments: Array<{
    contentType: 'application/vnd.microsoft.card.adaptive';
    contentUrl: null;
    content: AdaptiveCard;
  }>;
}

export interface TeamsWebhookOptions {
  /**
   * The URL Workflows shows; it carries a signature (sig=), so it is a secret and never appears in
   * an error.
   */
  url: string;
  onCall?: ApiClientOptions['onCall'];
  timeoutMs?: number;
}

function teamsWebhookMessage(card: AdaptiveCard): TeamsWebhookMessage {
  return {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  };
}

export class TeamsWebhookTransport {
  private readonly url: string;
  private readonly where: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: TeamsWebhookOptions) {
    this.url = options.url;
    this.where = webhookName(options.url);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** POST the card; the trigger answers 202 Accepted (no body) once the flow has the request. */
  async post(card: AdaptiveCard, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const started = Date.now();
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(teamsWebhookMessage(card)),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      this.options.onCall?.({
        api: TEAMS_WEBHOOK_API,
        method: 'POST',
        status: null,
        durationMs: Date.now() - started,
      });
      throw networkError(error, this.where);
    }
    const text = await response.text().catch(() => '');
    this.options.onCall?.({
      api: TEAMS_WEBHOOK_API,
      method: 'POST',
      status: response.status,
      durationMs: Date.now() - started,
    });
    if (!response.ok)
      throw webhookError(response.status, text, response.headers.get('retry-after'), this.where);
  }
}

/** Host and workflow id: enough to find the workflow, without the signature. */
export function webhookName(url: string): string {
  try {
    const parsed = new URL(url);
    const workflow = /\/workflows\/([^/]+)\//.exec(parsed.pathname)?.[1];
    return `Teams webhook ${parsed.host}${workflow ? ` (workflow ${workflow})` : ''}`;
  } catch {
    return 'Teams webhook';
  }
}

/**
 * Power Automate answers errors as {error: {code, message}}; 401/404 mean the URL is stale, 429
 * asks to wait.
 */
function webhookError(
  status: number,
  text: string,
  retryAfter: string | null,
  where: string,
): LeadbridgeError {
  const body = parseJson(text);
  const detail = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof detail?.code === 'string' ? detail.code : undefined;
  const message =
    typeof detail?.message === 'string' ? detail.message : text.slice(0, 200) || 'no message';
  const options = {
    status,
    provider: body ?? text,
    providerCode: code,
    api: TEAMS_WEBHOOK_API,
    retryable: status === 429 || status >= 500,
    retryAfterSeconds: parseRetryAfter(retryAfter),
  };
  const summary = `${where} → ${status}${code ? ` ${code}` : ''}: ${message}`;
  if (status === 401 || status === 403)
    return new LeadbridgeError(
      'AUTH_FAILED',
      `${summary} (copy the workflow's URL again into alerts.teams.webhookUrl)`,
      options,
    );
  if (status === 404)
    return new LeadbridgeError(
      'NOT_FOUND',
      `${summary} (the workflow was deleted or turned off)`,
      options,
    );
  if (status === 429) return new LeadbridgeError('RATE_LIMITED', summary, options);
  return new LeadbridgeError('HTTP_ERROR', summary, options);
}

function networkError(error: unknown, where: string): LeadbridgeError {
  if ((error as Error | null)?.name === 'TimeoutError') {
    return new LeadbridgeError('NETWORK_ERROR', `POST ${where} timed out`, {
      api: TEAMS_WEBHOOK_API,
      retryable: true,
      cause: error,
    });
  }
  const normalised = normaliseError(error, TEAMS_WEBHOOK_API);
  if (normalised.code === 'ABORTED')
    return new LeadbridgeError('ABORTED', `POST ${where} aborted`, {
      api: TEAMS_WEBHOOK_API,
      cause: error,
    });
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  const socket = typeof code === 'string' ? code : undefined;
  return new LeadbridgeError(
    'NETWORK_ERROR',
    `POST ${where}: ${socket ? `${socket} ` : ''}${(error as Error).message}`,
    {
      api: TEAMS_WEBHOOK_API,
      retryable: socket !== undefined && NETWORK_ERROR_CODES.has(socket),
      cause: error,
    },
  );
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
