// The alerts config schema and what each alert says (no I/O).
import { describe, expect, it } from 'vitest';
import type { Referral } from '../../src/core/referral.js';
import { alertsConfigSchema } from '../../src/config/alerts.js';
import {
  DIGEST_MAX_LINES,
  expiryWarningContent,
  hotLeadContent,
  quarantineDigestContent,
  remainingText,
  renderAdaptiveCard,
  renderText,
} from '../../src/alerts/alerts-content.js';

const base = {
  graph: { auth: { kind: 'static', token: 'x' } },
  sender: 'leads-bot@contoso.com',
  recipients: ['sales@contoso.com'],
};

function issuesOf(input: unknown): string[] {
  const result = alertsConfigSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('alertsConfigSchema', () => {
  it('fills in the defaults (enabled, Graph URL and scope, 2 days, digest on)', () => {
    expect(alertsConfigSchema.parse(base)).toEqual({
      enabled: true,
      graph: { baseUrl: 'https://graph.microsoft.com', auth: { kind: 'static', token: 'x' } },
      sender: 'leads-bot@contoso.com',
      recipients: ['sales@contoso.com'],
      expiryWarningDays: 2,
      quarantineDigest: true,
    });
    const entra = alertsConfigSchema.parse({
      ...base,
      graph: {
        auth: { kind: 'clientCredentials', tenantId: 't', clientId: 'c', clientSecret: 's' },
      },
    });
    expect(entra.enabled && entra.graph.auth).toEqual({
      kind: 'clientCredentials',
      tenantId: 't',
      clientId: 'c',
      clientSecret: 's',
      scope: 'https://graph.microsoft.com/.default',
    });
  });

  it('takes "true"/"false" and numbers as strings (from ${ENV})', () => {
    const parsed = alertsConfigSchema.parse({
      ...base,
      enabled: 'TRUE',
      expiryWarningDays: '3',
      quarantineDigest: 'false',
    });
    expect(parsed).toMatchObject({ enabled: true, expiryWarningDays: 3, quarantineDigest: false });
    expect(alertsConfigSchema.parse({ enabled: 'false', sender: '' })).toEqual({
      enabled: false,
      sender: '',
    });
  });

  it('reports every problem with its path', () => {
    expect(
      issuesOf({
        graph: { baseUrl: 'ftp://x', auth: { kind: 'static', token: 'x' } },
        recipients: ['not-an-address'],
        expiryWarningDays: 15,
        extra: 1,
      }),
    ).toEqual([
      'graph.baseUrl: Invalid URL',
      'sender: Invalid input: expected string, received undefined',
      'recipients.0: expected an email address',
      'expiryWarningDays: Too big: expected number to be <=14',
      ': Unrecognized key: "extra"',
    ]);
    expect(issuesOf({ ...base, recipients: [] })).toEqual([
      'recipients: name at least one recipient',
    ]);
  });
});

const referral: Referral = {
  id: 'r-1',
  substatus: 'Received',
  type: 'Independent',
  name: '  ',
  createdDateTime: '2026-11-23T09:30:00.1234567Z',
  updatedDateTime: '2026-11-23T09:30:00.1234567Z',
  expirationDateTime: '2026-12-07T09:30:00Z',
  status: 'New',
  eTag: '"e"',
  customerProfile: {
    name: 'Fabrikam <R&D>',
    team: [
      { firstName: 'Jane', lastName: null, email: null, phoneNumber: '+1 555' },
      { firstName: null },
    ],
  },
  details: { dealValue: '2500' },
};

describe('alert content', () => {
  it('says what a hot lead needs, leaving out what the referral does not have', () => {
    const content = hotLeadContent({ referral, leadKind: 'salesQualified' }, 'https://portal/r-1');
    expect(content.subject).toBe('Hot lead: Fabrikam <R&D> asks to be contacted — referral r-1');
    expect(content.fields).toEqual([
      { label: 'Customer', value: 'Fabrikam <R&D>' },
      { label: 'Contact', value: 'Jane, phone +1 555' },
      { label: 'Contact', value: '(no name)' },
      { label: 'Lead kind', value: 'sales-qualified lead' },
      { label: 'Deal value', value: '2500' },
      { label: 'Received', value: '2026-11-23T09:30:00.1234567Z' },
      { label: 'Referral id', value: 'r-1' },
      { label: 'Portal', value: 'https://portal/r-1' },
      { label: 'CRM records', value: 'not in a CRM yet' },
      { label: 'Contact by', value: '2026-11-26T09:30:00.123Z' },
    ]);
  });

  it('renders plain text for mail and an Adaptive Card for Teams, with a button per link', () => {
    const content = {
      subject: 's',
      paragraphs: ['First <p>', 'Second'],
      fields: [
        { label: 'Portal', value: 'https://x/?a=1&b=2' },
        { label: 'Notes', value: 'a & b' },
      ],
      items: ['one', 'two'],
    };
    expect(renderText(content)).toBe(
      'First <p>\n\nSecond\n\nPortal: https://x/?a=1&b=2\nNotes: a & b\n\n- one\n- two\n',
    );
    expect(renderAdaptiveCard(content, true)).toEqual({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
      body: [
        {
          type: 'TextBlock',
          text: 's',
          weight: 'Bolder',
          size: 'Medium',
          wrap: true,
          color: 'Attention',
        },
        { type: 'TextBlock', text: 'First <p>', wrap: true },
        { type: 'TextBlock', text: 'Second', wrap: true },
        {
          type: 'FactSet',
          facts: [
            { title: 'Portal', value: 'https://x/?a=1&b=2' },
            { title: 'Notes', value: 'a & b' },
          ],
        },
        { type: 'TextBlock', text: '- one\n- two', wrap: true },
      ],
      actions: [{ type: 'Action.OpenUrl', title: 'Open Portal', url: 'https://x/?a=1&b=2' }],
    });
    expect(
      renderAdaptiveCard({ subject: 's', paragraphs: [], fields: [], items: [] }, false),
    ).toEqual({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
      body: [{ type: 'TextBlock', text: 's', weight: 'Bolder', size: 'Medium', wrap: true }],
    });
  });

  it(
    'keeps a long digest card under the Teams message limit, listing what fits and counting ' +
      'the rest',
    () => {
      const items = Array.from(
        { length: 300 },
        (_, i) => `r-${String(i).padStart(3, '0')} → dynamics: ${'the CRM rejected it '.repeat(8)}`,
      );
      const card = renderAdaptiveCard(
        { subject: 'Quarantine digest', paragraphs: [], fields: [], items },
        false,
      );
      expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(24 * 1024);
      const list = String(card.body.at(-1)?.text).split('\n');
      expect(list[0]).toBe(`- ${items[0]}`);
      const more = /^- … and (\d+) more \(the mail lists them all\)$/.exec(list.at(-1) ?? '');
      expect(more).not.toBeNull();
      expect(list.length - 1 + Number(more?.[1])).toBe(300);
      expect(list.length).toBeGreaterThan(100);
    },
  );

  it('words the time left before expiry', () => {
    const hour = 3_600_000;
    expect([
      remainingText(49 * hour),
      remainingText(48 * hour),
      remainingText(24 * hour + 1),
      remainingText(5 * hour + 59 * 60_000),
      remainingText(90_000),
      remainingText(10),
    ]).toEqual(['2 days 1 hour', '2 days', '1 day', '5 hours', '1 minute', '1 minute']);
    const content = expiryWarningContent(
      { referral, leadKind: 'customerInquiry' },
      'https://portal/r-1',
      new Date('2026-12-06T08:00:00Z'),
    );
    expect(content.subject).toBe(
      'Lead expires in 1 day 1 hour unanswered: Fabrikam <R&D> — referral r-1',
    );
    expect(content.fields.at(-1)).toEqual({ label: 'Expires', value: '2026-12-07T09:30:00Z' });
  });

  it('caps a long digest and counts the rest', () => {
    const quarantined = Array.from({ length: DIGEST_MAX_LINES + 5 }, (_, i) => ({
      referralId: `r-${i}`,
      target: 'sf',
      reason: 'bad',
      since: 'then',
    }));
    const content = quarantineDigestContent(quarantined);
    expect(content.subject).toBe(
      `${DIGEST_MAX_LINES + 5} referrals quarantined since the last digest`,
    );
    expect(content.items).toHaveLength(DIGEST_MAX_LINES + 1);
    expect(content.items[0]).toBe('r-0 → sf: bad (since then)');
    expect(content.items.at(-1)).toBe('… and 5 more');
  });
});
