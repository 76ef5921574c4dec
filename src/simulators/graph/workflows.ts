// A Teams Workflows webhook ("Post to a channel when a webhook request is received"): the trigger
// and what the flow posts.
import { SimHttpError } from '../common/server.js';
import { isPlainObject } from './payload.js';

/**
 * One workflow an admin set up on a channel. Its URL carries a shared-access signature (`sig`)
 * instead of a bearer
 * token: whoever holds the URL may trigger the flow, which is why the client treats the URL as a
 * secret.
 */
export interface TeamsWorkflow {
  id: string;
  sig: string;
  teamId: string;
  channelId: string;
}

/**
 * One trigger request the flow ran: Succeeded when every card was posted, Failed (nothing posted)
 * otherwise.
 */
export interface WorkflowRun {
  runId: string;
  workflowId: string;
  receivedDateTime: string;
  status: 'Succeeded' | 'Failed';
  /** Why the run failed, as the flow's run history would say. */
  error: string | null;
  /** The request body as received. */
  payload: unknown;
}

/**
 * One card the flow posted to its channel (the template posts each attachment as its own message).
 */
export interface TeamsWebhookPost {
  runId: string;
  workflowId: string;
  teamId: string;
  channelId: string;
  postedDateTime: string;
  card: Record<string, unknown>;
}

export const DEFAULT_WORKFLOW: TeamsWorkflow = {
  id: 'leadbridge-alerts',
  sig: 'c2ltdWxhdGVkLXdvcmtmbG93LXNpZ25hdHVyZQ',
  teamId: 'sim-team',
  channelId: '19:leadbridge-alerts@thread.tacv2',
};

/**
 * The trigger path of a Power Automate workflow URL
 * (…/workflows/{id}/triggers/manual/paths/invoke?…&sig=…).
 */
export const WORKFLOW_TRIGGER = new RegExp(
  String.raw`^\/powerautomate\/automations\/direct\/workflows\/(?<workflowId>[^/]+)` +
    String.raw`\/triggers\/manual\/paths\/invoke$`,
);

/** Adaptive Card content type; Workflows post Adaptive Cards only, not connector MessageCards. */
const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
/** The newest Adaptive Card schema version Teams renders. */
const MAX_CARD_VERSION = 1.5;
/**
 * "The message size limit is 28 KB" (MicrosoftDocs/msteams-docs
 * webhooks-and-connectors/how-to/add-incoming-webhook.md).
 */
const TEAMS_MESSAGE_MAX_BYTES = 28 * 1024;

export function workflowUrl(baseUrl: string, workflow: TeamsWorkflow): string {
  const path =
    `/powerautomate/automations/direct/workflows/${workflow.id}` + `/triggers/manual/paths/invoke`;
  return `${baseUrl}${path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${workflow.sig}`;
}

/**
 * The trigger's own checks: an unknown workflow is 404 WorkflowNotFound, a missing or wrong
 * signature 401
 * DirectApiInvalidAuthorizationSignature (Logic Apps' error codes for its request trigger, body
 * {error:{code,message}}).
 */
export function authorizeTrigger(
  workflows: ReadonlyMap<string, TeamsWorkflow>,
  workflowId: string,
  sig: string | null,
): TeamsWorkflow {
  const workflow = workflows.get(workflowId);
  if (!workflow)
    throw new SimHttpError(
      404,
      'WorkflowNotFound',
      `The workflow '${workflowId}' could not be found.`,
    );
  if (sig === null || sig === '') {
    throw new SimHttpError(
      401,
      'DirectApiAuthorizationRequired',
      'The request must be authenticated only by Shared Access scheme.',
    );
  }
  if (sig !== workflow.sig)
    throw new SimHttpError(
      401,
      'DirectApiInvalidAuthorizationSignature',
      'The provided authorization signature is not valid.',
    );
  return workflow;
}

/**
 * What the template does with the request: for each attachment, post its Adaptive Card to the
 * channel. Returns the
 * cards to post, or the reason the run fails. The trigger has already answered 202, so the sender
 * never sees this.
 */
export function cardsToPost(
  payload: unknown,
  bytes: number,
): { cards: Array<Record<string, unknown>> } | { error: string } {
  if (!isPlainObject(payload)) return { error: 'The request body is not a JSON object.' };
  if (bytes > TEAMS_MESSAGE_MAX_BYTES)
    return { error: `The message size limit is 28 KB; this message has ${bytes} bytes.` };
  if (payload['@type'] === 'MessageCard') {
    return {
      error: 'Workflows post Adaptive Cards only; a connector MessageCard is not supported.',
    };
  }
  if (payload.type !== 'message')
    return {
      error: `The property 'type' must be "message" (got ${JSON.stringify(payload.type)}).`,
    };
  const attachments = payload.attachments;
  if (!Array.isArray(attachments) || attachments.length === 0) {
    return {
      error:
        'The expression "triggerBody()?[\'attachments\']" is null or empty: there is no card ' +
        'to post.',
    };
  }
  const cards: Array<Record<string, unknown>> = [];
  for (const [index, attachment] of attachments.entries()) {
    const problem = attachmentProblem(attachment);
    if (problem) return { error: `attachments[${index}]: ${problem}` };
    cards.push((attachment as { content: Record<string, unknown> }).content);
  }
  return { cards };
}

function attachmentProblem(attachment: unknown): string | null {
  if (!isPlainObject(attachment)) return 'an attachment must be an object {contentType, content}.';
  if (attachment.contentType !== ADAPTIVE_CARD)
    return (
      `contentType must be "${ADAPTIVE_CARD}" (got ` + `${JSON.stringify(attachment.contentType)}).`
    );
  const card = attachment.content;
  if (!isPlainObject(card)) return 'content must be the Adaptive Card object.';
  if (card.type !== 'AdaptiveCard')
    return `content.type must be "AdaptiveCard" (got ${JSON.stringify(card.type)}).`;
  const version = typeof card.version === 'string' ? Number(card.version) : Number.NaN;
  if (!(version >= 1 && version <= MAX_CARD_VERSION))
    return (
      `content.version must be "1.0" to "${MAX_CARD_VERSION}" (got ` +
      `${JSON.stringify(card.version)}).`
    );
  if (!Array.isArray(card.body) || card.body.length === 0)
    return 'content.body must list at least one element.';
  const element = card.body.find((item) => !isPlainObject(item) || typeof item.type !== 'string');
  if (element !== undefined) return 'every element of content.body needs a "type".';
  return null;
}
