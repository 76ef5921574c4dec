// The simulator's pure write rules: JSON Patch application, life-cycle checks, create validation
// and instants.
import { describe, expect, it } from 'vitest';
import { buildPartnerReferral, CreateError } from '../../src/simulators/partner-center/create.js';
import { addTicks, canonicalInstant } from '../../src/simulators/partner-center/instant.js';
import { applyReferralPatch, PatchError } from '../../src/simulators/partner-center/patch.js';
import {
  checkPartnerTransition,
  TransitionError,
} from '../../src/simulators/partner-center/transitions.js';

const incoming = {
  id: 'r-1',
  name: 'Contoso - Azure migration',
  status: 'New',
  substatus: 'Received',
  statusReason: null,
  details: {
    notes: 'needs 40 servers moved',
    dealValue: null,
    currency: null,
    closingDateTime: null,
  },
  team: [{ email: 'first@partner.example' }],
};

function patchRefusal(operations: unknown): string {
  try {
    applyReferralPatch(incoming, operations);
  } catch (error) {
    expect(error).toBeInstanceOf(PatchError);
    return (error as Error).message;
  }
  throw new Error('expected the patch to be refused');
}

function transitionRefusal(
  after: Record<string, unknown>,
  before: Record<string, unknown> = incoming,
): string {
  try {
    checkPartnerTransition(before, after);
  } catch (error) {
    expect(error).toBeInstanceOf(TransitionError);
    return (error as Error).message;
  }
  throw new Error('expected the transition to be refused');
}

describe('JSON Patch', () => {
  it('applies replace and add to a copy, leaving the stored referral untouched', () => {
    const patched = applyReferralPatch(incoming, [
      { op: 'replace', path: '/details/dealValue', value: '10000' },
      { op: 'add', path: '/team/-', value: { email: 'jane.doe@contoso.com' } },
      { op: 'add', path: '/team/0', value: { email: 'zero@contoso.com' } },
      { op: 'replace', path: '/team/1/email', value: 'changed@partner.example' },
      { op: 'replace', path: '/externalReferenceId', value: 'crm-42' },
    ]);
    // a numeric string is stored as a number
    expect(patched.details).toMatchObject({ dealValue: 10000 });
    // Added members are stored as the service's typed contract re-serialises them: every Member
    // field, absent ones null.
    const member = (email: string) => ({
      firstName: null,
      lastName: null,
      phoneNumber: null,
      email,
      contactPreference: null,
    });
    expect(patched.team).toEqual([
      member('zero@contoso.com'),
      { email: 'changed@partner.example' },
      member('jane.doe@contoso.com'),
    ]);
    expect(patched.externalReferenceId).toBe('crm-42');
    expect(incoming.team).toEqual([{ email: 'first@partner.example' }]);
    expect(incoming.details.dealValue).toBeNull();
  });

  it.each([
    [
      { op: 'replace', path: '/status', value: 'Active' },
      'the body must be a JSON Patch array of operations, e.g. ' +
        '[{"op":"replace","path":"/details/notes","value":"..."}]',
    ],
    [
      [],
      'the JSON Patch array has no operations, e.g. ' +
        '[{"op":"replace","path":"/details/notes","value":"..."}]',
    ],
    [
      [{ op: 'remove', path: '/details/notes' }],
      "operation 1 (remove /details/notes): op 'remove' is not supported; only replace and add are",
    ],
    [
      [
        { op: 'replace', path: '/name', value: 'x' },
        { op: 'move', from: '/name', path: '/statusReason' },
      ],
      "operation 2 (move /statusReason): op 'move' is not supported; only replace and add are",
    ],
    [
      [{ op: 'upsert', path: '/name', value: 'x' }],
      "operation 1 (upsert /name): unknown op 'upsert'; only replace and add are supported",
    ],
    [
      [{ op: 'replace', path: '/eTag', value: '"x"' }],
      'operation 1 (replace /eTag): /eTag is read-only',
    ],
    [
      [{ op: 'replace', path: '/qualification', value: 'Direct' }],
      'operation 1 (replace /qualification): /qualification is read-only',
    ],
    [
      [{ op: 'replace', path: '/details/dealvalue', value: 1 }],
      'operation 1 (replace /details/dealvalue): /details/dealvalue is not a referral field ' +
        '(did you mean /details/dealValue?)',
    ],
    [
      [{ op: 'replace', path: 'details/notes', value: 'x' }],
      'operation 1 (replace details/notes): a path is a JSON Pointer starting with /, such as ' +
        '/details/notes',
    ],
    [[{ op: 'replace', path: '/name' }], 'operation 1 (replace /name): value is missing'],
    [
      [{ op: 'replace', path: '/team/-', value: {} }],
      "operation 1 (replace /team/-): '-' (the end of /team) is only valid as the last token " +
        'of an add',
    ],
    [
      [{ op: 'replace', path: '/team/3', value: {} }],
      'operation 1 (replace /team/3): there is no element 3 to replace (length 1)',
    ],
    [
      [{ op: 'replace', path: '/inviteContext/notes', value: 'x' }],
      'operation 1 (replace /inviteContext/notes): /inviteContext is absent, so nothing can be ' +
        'set inside it (set /inviteContext itself)',
    ],
    [
      [{ op: 'replace', path: '/name/first', value: 'x' }],
      "operation 1 (replace /name/first): /name is a string and has no member 'first'",
    ],
  ])('refuses %j', (operations, message) => {
    expect(patchRefusal(operations)).toBe(message);
  });
});

describe('life-cycle checks', () => {
  const acceptable = {
    ...incoming,
    status: 'Active',
    substatus: 'Accepted',
    details: {
      notes: 'Wants 200 seats',
      dealValue: 120000,
      currency: 'USD',
      closingDateTime: '2026-06-30T00:00:00.0000000Z',
    },
  };

  it('accepts New → Active/Accepted with every required field and reports it as an accept', () => {
    expect(checkPartnerTransition(incoming, acceptable)).toEqual({ accepted: true });
    expect(checkPartnerTransition(acceptable, { ...acceptable, name: 'renamed' })).toEqual({
      accepted: false,
    });
    expect(checkPartnerTransition(incoming, { ...incoming, substatus: 'Pending' })).toEqual({
      accepted: false,
    });
  });

  it('names every missing accept field', () => {
    expect(
      transitionRefusal({
        ...acceptable,
        name: ' ',
        details: { notes: 'x', dealValue: null, currency: '', closingDateTime: null },
      }),
    ).toBe(
      'accepting a referral (New/Received to Active/Accepted) requires name, ' +
        'details.dealValue, details.currency, details.closingDateTime, details.notes; missing: ' +
        'name, details.dealValue, details.currency, details.closingDateTime',
    );
  });

  it.each([
    [
      { ...incoming, status: 'Closed', substatus: 'Won' },
      incoming,
      'illegal change from New/Received to Closed/Won: a referral moves to Closed/Won only ' +
        'from Active',
    ],
    [
      { ...incoming, status: 'Closed', substatus: 'Expired' },
      incoming,
      'illegal change from New/Received to Closed/Expired: Closed/Expired is set by the ' +
        'service, not by a partner',
    ],
    [
      { ...incoming, status: 'Closed', substatus: 'Declined' },
      incoming,
      'the change from New/Received to Closed/Declined requires statusReason (the reason the ' +
        'referral was declined)',
    ],
    [
      { ...incoming, status: 'Active', substatus: 'Received' },
      incoming,
      'illegal change from New/Received to Active/Received: substatus Received does not go ' +
        'with status Active (allowed: Accepted)',
    ],
    [
      { ...incoming, status: 'New', substatus: 'Received' },
      { ...incoming, status: 'Active', substatus: 'Accepted' },
      'illegal status change from Active to New (Active/Accepted to New/Received): Active may ' +
        'move to Active, Closed',
    ],
    [
      { ...incoming, status: 'Closed', substatus: 'Lost' },
      { ...incoming, status: 'Active', substatus: 'Accepted' },
      'the change from Active/Accepted to Closed/Lost requires statusReason (the reason the ' +
        'referral was lost)',
    ],
  ])('refuses %j from %j', (after, before, message) => {
    expect(transitionRefusal(after, before)).toBe(message);
  });

  it('lets a declined referral close with its reason and a won one close without one', () => {
    expect(
      checkPartnerTransition(incoming, {
        ...incoming,
        status: 'Closed',
        substatus: 'Declined',
        statusReason: 'Not a customer',
      }),
    ).toEqual({ accepted: false });
    expect(
      checkPartnerTransition(acceptable, { ...acceptable, status: 'Closed', substatus: 'Won' }),
    ).toEqual({ accepted: false });
  });
});

describe('partner-created referrals', () => {
  const server = {
    id: 'new-id',
    engagementId: 'eng-id',
    stamp: '2025-05-01T12:00:00.0000001Z',
    eTag: '"e"',
  };

  it('completes a valid body with the server-set fields, dealValue strings as numbers', () => {
    const referral = buildPartnerReferral(
      {
        name: 'Contoso Test Deal',
        type: 'Independent',
        qualification: 'SalesQualified',
        customerProfile: {
          name: 'Contoso Customer Inc',
          address: { country: 'US' },
          size: '10to50employees',
        },
        consent: { consentToContact: true },
        details: { dealValue: '10000', currency: 'USD', closingDateTime: '2025-09-30T00:00:00Z' },
        unknownField: 'dropped',
      },
      server,
    );
    expect(referral).toMatchObject({
      id: 'new-id',
      engagementId: 'eng-id',
      createdDateTime: server.stamp,
      updatedDateTime: server.stamp,
      acceptedDateTime: server.stamp,
      expirationDateTime: null,
      status: 'Active',
      substatus: 'Accepted',
      direction: 'Outgoing',
      eTag: '"e"',
      details: {
        dealValue: 10000,
        currency: 'USD',
        closingDateTime: '2025-09-30T00:00:00.0000000Z',
        notes: null,
      },
      team: [],
    });
    expect(referral).not.toHaveProperty('unknownField');
    expect(referral).not.toHaveProperty('links');
  });

  it('lists every problem of an invalid body at once', () => {
    const attempt = () =>
      buildPartnerReferral(
        {
          id: 'mine',
          type: 'Independent',
          customerProfile: { address: { country: 'USA' } },
          details: { currency: 'usd', dealValue: 'lots', closingDateTime: '30/09/2025' },
          status: 'Closed',
        },
        server,
      );
    expect(attempt).toThrow(CreateError);
    expect(attempt).toThrow(
      'invalid referral: id is set by the service and cannot be given on create; name is ' +
        'required; customerProfile.name is required; consent is required; ' +
        "customerProfile.address.country: 'USA' is not an ISO 3166 two-letter country code " +
        'such as US; ' +
        'details.dealValue: expected a number (or a numeric string such as "10000"), got ' +
        "'lots'; " +
        "details.currency: 'usd' is not an ISO 4217 three-letter currency code such as USD; " +
        'details.closingDateTime: expected an ISO-8601 date-time such as 2025-06-30T00:00:00Z, ' +
        "got '30/09/2025'; " +
        'status: a referral is created New or Active, not Closed',
    );
  });
});

describe('instants', () => {
  it('canonicalises ISO-8601 text to UTC with 7 fractional digits', () => {
    expect(canonicalInstant('2025-01-01T00:00:00Z')).toBe('2025-01-01T00:00:00.0000000Z');
    expect(canonicalInstant('2025-01-01T01:30:00.1234567+01:30')).toBe(
      '2025-01-01T00:00:00.1234567Z',
    );
    expect(canonicalInstant('2024-12-31T23:59:59.99999999-00:00')).toBe(
      '2024-12-31T23:59:59.9999999Z',
    );
    expect(canonicalInstant('2025-01-01')).toBeNull();
    expect(canonicalInstant('2025-13-01T00:00:00Z')).toBeNull();
    expect(canonicalInstant(42)).toBeNull();
  });

  it('adds ticks across the millisecond boundary', () => {
    expect(addTicks('2025-01-01T00:00:00.0019999Z', 1)).toBe('2025-01-01T00:00:00.0020000Z');
    expect(addTicks('2025-01-01T23:59:59.9999999Z', 1)).toBe('2025-01-02T00:00:00.0000000Z');
  });
});
