// POST /teams/{team-id}/channels/{channel-id}/messages: validation and the chatMessage resource
// Graph returns (201).
import { SimHttpError } from '../common/server.js';
import {
  enumLiteral,
  isPlainObject,
  optionalString,
  rejectUnknownProperties,
  requireJsonObject,
} from './payload.js';

/**
 * The chatMessage as Graph returns it (the fields a client reads; Graph sends a few more, all null
 * here).
 */
export interface ChatMessage {
  id: string;
  replyToId: null;
  etag: string;
  messageType: 'message';
  createdDateTime: string;
  lastModifiedDateTime: string;
  lastEditedDateTime: null;
  deletedDateTime: null;
  subject: string | null;
  summary: null;
  chatId: null;
  importance: 'normal' | 'high' | 'urgent';
  locale: string;
  webUrl: string;
  from: {
    application: null;
    device: null;
    user: { id: string; displayName: string; userIdentityType: 'aadUser' };
  };
  body: { contentType: 'text' | 'html'; content: string };
  channelIdentity: { teamId: string; channelId: string };
  attachments: unknown[];
  mentions: unknown[];
  reactions: unknown[];
}

export interface RecordedChannelMessage {
  teamId: string;
  channelId: string;
  requestId: string;
  clientRequestId: string;
  message: ChatMessage;
}

/** Writable chatMessage properties a new channel message may carry. */
const CHAT_MESSAGE_PROPERTIES = new Set([
  'body',
  'subject',
  'importance',
  'attachments',
  'mentions',
  'hostedContents',
  'summary',
]);
const ITEM_BODY_PROPERTIES = new Set(['contentType', 'content']);
const BODY_TYPES = ['text', 'html'] as const;
const IMPORTANCE = ['normal', 'high', 'urgent'] as const;
/**
 * Graph's answer to a channel post made with an application token: app-only posting is allowed only
 * to import
 * messages into a channel in migration mode (Teamwork.Migrate.All). Source:
 * microsoftgraph/microsoft-graph-docs-contrib
 * api-reference/v1.0/api/channel-post-messages.md ("Application permissions are only supported for
 * migration"); the
 * body as the service sends it (401, code Unauthorized, innerError with date and ids):
 * https://learn.microsoft.com/en-us/answers/questions/1154651/
 * (test/contracts/graph/app-only-channel-post-401.json).
 */
export const APP_ONLY_POST_MESSAGE =
  'Message POST is allowed in application-only context only for import purposes. Refer to ' +
  'https://learn.microsoft.com/microsoftteams/platform/graph-api/import-messages/' +
  'import-external-messages-to-teams for more details.';

export interface ChannelMessageContext {
  teamId: string;
  channelId: string;
  /**
   * Message ids in Teams are the creation time in epoch milliseconds; `sequence` keeps them unique.
   */
  createdAt: Date;
  sequence: number;
  /** The signed-in user of the delegated token (a channel message is always posted as a user). */
  user: { id: string; displayName: string };
}

export function acceptChannelMessage(body: unknown, context: ChannelMessageContext): ChatMessage {
  const input = requireJsonObject(body);
  rejectUnknownProperties(input, CHAT_MESSAGE_PROPERTIES, 'microsoft.graph.chatMessage');
  const itemBody = chatBody(input.body);
  const created = context.createdAt.toISOString();
  const id = String(context.createdAt.getTime() + context.sequence);
  return {
    id,
    replyToId: null,
    etag: id,
    messageType: 'message',
    createdDateTime: created,
    lastModifiedDateTime: created,
    lastEditedDateTime: null,
    deletedDateTime: null,
    subject: optionalString(input.subject, 'subject', 'microsoft.graph.chatMessage'),
    summary: null,
    chatId: null,
    importance:
      input.importance === undefined
        ? 'normal'
        : (enumLiteral(
            input.importance,
            IMPORTANCE,
            'microsoft.graph.chatMessageImportance',
          ) as ChatMessage['importance']),
    locale: 'en-us',
    webUrl:
      `https://teams.microsoft.com/l/message/${encodeURIComponent(context.channelId)}/` +
      `${id}?groupId=${encodeURIComponent(context.teamId)}&createdTime=${id}&parentMessageId=${id}`,
    from: {
      application: null,
      device: null,
      user: {
        id: context.user.id,
        displayName: context.user.displayName,
        userIdentityType: 'aadUser',
      },
    },
    body: itemBody,
    channelIdentity: { teamId: context.teamId, channelId: context.channelId },
    attachments: [],
    mentions: [],
    reactions: [],
  };
}

function chatBody(value: unknown): ChatMessage['body'] {
  if (!isPlainObject(value)) {
    throw new SimHttpError(
      400,
      'BadRequest',
      'Missing body: a chatMessage needs body {contentType, content}.',
    );
  }
  rejectUnknownProperties(value, ITEM_BODY_PROPERTIES, 'microsoft.graph.itemBody');
  const contentType =
    value.contentType === undefined
      ? 'text'
      : (enumLiteral(
          value.contentType,
          BODY_TYPES,
          'microsoft.graph.bodyType',
        ) as ChatMessage['body']['contentType']);
  const content = optionalString(value.content, 'content', 'microsoft.graph.itemBody');
  if (content === null || content.trim() === '') {
    throw new SimHttpError(
      400,
      'BadRequest',
      'Message body cannot be empty: body.content must be a non-empty string.',
    );
  }
  return { contentType, content };
}
