// POST /users/{id | userPrincipalName}/sendMail: strict validation of the action body and the mail
// it records.
import { SimHttpError } from '../common/server.js';
import {
  REQUEST_BODY_READ,
  enumLiteral,
  isPlainObject,
  optionalString,
  rejectUnknownProperties,
  requireJsonObject,
} from './payload.js';

interface MailRecipient {
  address: string;
  name: string | null;
}

/** One mail the simulator accepted, as the sender asked for it. */
export interface RecordedMail {
  /** mail-1, mail-2, ... in the order accepted. */
  id: string;
  /** The user id or userPrincipalName of the sending mailbox, as addressed in the path. */
  sender: string;
  requestId: string;
  clientRequestId: string;
  receivedDateTime: string;
  subject: string;
  contentType: 'Text' | 'HTML';
  content: string;
  to: MailRecipient[];
  cc: MailRecipient[];
  bcc: MailRecipient[];
  importance: 'low' | 'normal' | 'high';
  saveToSentItems: boolean;
  /** The message object exactly as sent. */
  message: Record<string, unknown>;
}

const SEND_MAIL_PARAMETERS = new Set(['message', 'saveToSentItems']);
/** Writable properties of microsoft.graph.message that a sendMail body may carry. */
const MESSAGE_PROPERTIES = new Set([
  'subject',
  'body',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'from',
  'sender',
  'importance',
  'inferenceClassification',
  'internetMessageHeaders',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'attachments',
  'categories',
  'flag',
  'mentions',
  'singleValueExtendedProperties',
  'multiValueExtendedProperties',
]);
const ITEM_BODY_PROPERTIES = new Set(['contentType', 'content']);
const RECIPIENT_PROPERTIES = new Set(['emailAddress']);
const EMAIL_ADDRESS_PROPERTIES = new Set(['address', 'name']);
const BODY_TYPES = ['Text', 'HTML'] as const;
const IMPORTANCE = ['low', 'normal', 'high'] as const;
/**
 * Deliberately simple: one @, no spaces, a dot in the domain. Exchange resolves far more strictly.
 */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface SendMailContext {
  sender: string;
  requestId: string;
  clientRequestId: string;
  receivedDateTime: string;
  sequence: number;
}

/**
 * Validates a sendMail body the way Graph does (stricter where Graph is lenient) and returns the
 * mail to record.
 */
export function acceptSendMail(body: unknown, context: SendMailContext): RecordedMail {
  const action = requireJsonObject(body);
  rejectUnknownProperties(action, SEND_MAIL_PARAMETERS, 'microsoft.graph.sendMail');
  const message = action.message;
  if (!isPlainObject(message)) {
    throw new SimHttpError(
      400,
      'ErrorInvalidParameter',
      "The value of the parameter 'Message' is empty.",
    );
  }
  rejectUnknownProperties(message, MESSAGE_PROPERTIES, 'microsoft.graph.message');
  const { contentType, content } = itemBody(message.body);
  return {
    id: `mail-${context.sequence}`,
    sender: context.sender,
    requestId: context.requestId,
    clientRequestId: context.clientRequestId,
    receivedDateTime: context.receivedDateTime,
    subject: subjectOf(message.subject),
    contentType,
    content,
    ...recipientsOf(message),
    importance:
      message.importance === undefined
        ? 'normal'
        : (enumLiteral(
            message.importance,
            IMPORTANCE,
            'microsoft.graph.importance',
          ) as RecordedMail['importance']),
    saveToSentItems: saveToSentItemsOf(action.saveToSentItems),
    message,
  };
}

/**
 * Graph itself sends a mail without a subject; the simulator refuses one, since an alert without a
 * subject is a bug.
 */
function subjectOf(value: unknown): string {
  const subject = optionalString(value, 'subject', 'microsoft.graph.message');
  if (subject === null || subject.trim() === '') {
    throw new SimHttpError(
      400,
      'ErrorInvalidParameter',
      'The message has no subject: message.subject must be a non-empty string.',
    );
  }
  return subject;
}

function itemBody(value: unknown): { contentType: RecordedMail['contentType']; content: string } {
  if (!isPlainObject(value)) {
    throw new SimHttpError(
      400,
      'ErrorInvalidParameter',
      'The message has no body: message.body must be an object {contentType, content}.',
    );
  }
  rejectUnknownProperties(value, ITEM_BODY_PROPERTIES, 'microsoft.graph.itemBody');
  const contentType = enumLiteral(
    value.contentType,
    BODY_TYPES,
    'microsoft.graph.bodyType',
  ) as RecordedMail['contentType'];
  const content = optionalString(value.content, 'content', 'microsoft.graph.itemBody');
  if (content === null)
    throw new SimHttpError(
      400,
      'ErrorInvalidParameter',
      'The message body has no content: message.body.content must be a string.',
    );
  return { contentType, content };
}

function recipientsOf(message: Record<string, unknown>): Pick<RecordedMail, 'to' | 'cc' | 'bcc'> {
  const to = recipientList(message.toRecipients, 'toRecipients');
  const cc = recipientList(message.ccRecipients, 'ccRecipients');
  const bcc = recipientList(message.bccRecipients, 'bccRecipients');
  // Stricter than Graph (which accepts cc-only mail): alerts always address someone directly.
  if (to.length === 0) {
    throw new SimHttpError(
      400,
      'ErrorInvalidRecipients',
      "At least one recipient isn't valid., A message can't be sent because it contains no " +
        'recipients.',
    );
  }
  return { to, cc, bcc };
}

function recipientList(value: unknown, property: string): MailRecipient[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new SimHttpError(
      400,
      REQUEST_BODY_READ,
      `The property '${property}' must be a collection of microsoft.graph.recipient.`,
    );
  }
  return value.map((recipient) => recipientOf(recipient, property));
}

function recipientOf(value: unknown, property: string): MailRecipient {
  if (!isPlainObject(value) || !isPlainObject(value.emailAddress)) {
    throw new SimHttpError(
      400,
      'ErrorInvalidRecipients',
      `At least one recipient isn't valid., Each entry of ${property} needs an emailAddress ` +
        `{address, name?}.`,
    );
  }
  rejectUnknownProperties(value, RECIPIENT_PROPERTIES, 'microsoft.graph.recipient');
  const emailAddress = value.emailAddress;
  rejectUnknownProperties(emailAddress, EMAIL_ADDRESS_PROPERTIES, 'microsoft.graph.emailAddress');
  const address = emailAddress.address;
  if (typeof address !== 'string' || !EMAIL.test(address)) {
    throw new SimHttpError(
      400,
      'ErrorInvalidRecipients',
      `At least one recipient isn't valid., Recipient '${String(address ?? '')}' isn't ` +
        `resolved. All recipients must be resolved before a message can be submitted.`,
    );
  }
  return {
    address,
    name: optionalString(emailAddress.name, 'name', 'microsoft.graph.emailAddress'),
  };
}

function saveToSentItemsOf(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  // The documented sendMail example sends "false" as a string (user-sendmail.md, example 1), so
  // Graph reads that too.
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value !== 'boolean') {
    throw new SimHttpError(
      400,
      REQUEST_BODY_READ,
      `Cannot convert the literal '${String(value)}' to the expected type 'Edm.Boolean'.`,
    );
  }
  return value;
}
