// CRM metadata over real HTTP: the Dataverse simulator's EntityDefinitions, and describeEntity of
// both adapters against the simulators.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmAdapter, CrmFieldMetadata } from '../../src/crm/adapter.js';
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { salesforceModule } from '../../src/crm/salesforce/module.js';
import { LeadbridgeError } from '../../src/core/errors.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';

let dynamics: DynamicsSimulator;
let salesforce: SalesforceSimulator;
let dynamicsAdapter: CrmAdapter;
let salesforceAdapter: CrmAdapter;

const ODATA = {
  Authorization: 'Bearer d365-token',
  Accept: 'application/json',
  'OData-Version': '4.0',
  'OData-MaxVersion': '4.0',
};
const LEAD_DEFINITION =
  "EntityDefinitions(LogicalName='lead')?$select=LogicalName&$expand=Attributes(" +
  '$select=LogicalName,AttributeType,RequiredLevel,IsValidForCreate,IsValidForUpdate)';

async function getJson(path: string, headers: Record<string, string> = ODATA, method = 'GET') {
  const response = await fetch(`${dynamics.apiUrl}${path}`, { method, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dynamics = createDynamicsSimulator({ port: 0 });
  salesforce = createSalesforceSimulator({ port: 0 });
  await Promise.all([dynamics.start(), salesforce.start()]);
  dynamicsAdapter = await dynamics365Module.createAdapter({
    target: 'dynamics',
    settings: { url: dynamics.url, auth: { kind: 'static', token: 'd365-token' } },
  });
  salesforceAdapter = await salesforceModule.createAdapter({
    target: 'salesforce',
    settings: { instanceUrl: salesforce.url, auth: { kind: 'accessToken', token: 'sf-token' } },
  });
});

afterAll(async () => {
  await Promise.allSettled([dynamicsAdapter?.close?.(), salesforceAdapter?.close?.()]);
  await Promise.all([dynamics?.stop(), salesforce?.stop()]);
});

describe('Dataverse simulator: EntityDefinitions', () => {
  it(
    'serves a table with its attributes in the Web API shape, built from the simulator ' + 'schema',
    async () => {
      const { status, body } = await getJson(LEAD_DEFINITION);
      expect(status).toBe(200);
      expect(body['@odata.context']).toBe(`${dynamics.apiUrl}$metadata#EntityDefinitions/$entity`);
      expect(body.LogicalName).toBe('lead');
      expect(body.MetadataId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const attributes = body.Attributes as Array<Record<string, unknown>>;
      for (const attribute of attributes) {
        expect(Object.keys(attribute)).toEqual([
          '@odata.type',
          'MetadataId',
          'LogicalName',
          'AttributeType',
          'RequiredLevel',
          'IsValidForCreate',
          'IsValidForUpdate',
        ]);
      }
      const byName = new Map(
        attributes.map(({ MetadataId: _id, ...attribute }) => [attribute.LogicalName, attribute]),
      );
      const required = (Value: string, CanBeChanged = true) => ({
        Value,
        CanBeChanged,
        ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
      });
      expect(byName.get('leadid')).toEqual({
        '@odata.type': '#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata',
        LogicalName: 'leadid',
        AttributeType: 'Uniqueidentifier',
        RequiredLevel: required('SystemRequired', false),
        IsValidForCreate: true,
        IsValidForUpdate: false,
      });
      expect(byName.get('subject')).toEqual({
        '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata',
        LogicalName: 'subject',
        AttributeType: 'String',
        RequiredLevel: required('ApplicationRequired'),
        IsValidForCreate: true,
        IsValidForUpdate: true,
      });
      expect(byName.get('fullname')).toMatchObject({
        AttributeType: 'String',
        IsValidForCreate: false,
        IsValidForUpdate: false,
      });
      expect(byName.get('statecode')).toMatchObject({
        AttributeType: 'State',
        RequiredLevel: required('SystemRequired'),
      });
      expect(byName.get('leadqualitycode')).toMatchObject({
        '@odata.type': '#Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
        AttributeType: 'Picklist',
      });
      expect(byName.get('qualifyingopportunityid')).toMatchObject({ AttributeType: 'Lookup' });
      expect(byName.get('estimatedvalue')).toMatchObject({ AttributeType: 'Money' });
      expect(byName.get('estimatedclosedate')).toMatchObject({ AttributeType: 'DateTime' });
      expect(byName.get('lb_syncwithpartnercenter')).toMatchObject({ AttributeType: 'Boolean' });
      expect(byName.get('versionnumber')).toMatchObject({
        AttributeType: 'BigInt',
        IsValidForCreate: false,
      });
    },
  );

  it(
    'serves derived-type properties through a cast, and refuses them on the base ' + 'type',
    async () => {
      const strings = await getJson(
        "EntityDefinitions(LogicalName='lead')/Attributes/Microsoft.Dynamics.CRM." +
          'StringAttributeMetadata?$select=LogicalName,MaxLength',
      );
      expect(strings.status).toBe(200);
      const lengths = Object.fromEntries(
        (strings.body.value as Array<{ LogicalName: string; MaxLength: number }>).map((a) => [
          a.LogicalName,
          a.MaxLength,
        ]),
      );
      expect(lengths).toMatchObject({
        subject: 300,
        firstname: 50,
        address1_line1: 250,
        description: 2000,
        lb_referralid: 100,
      });
      expect(lengths).not.toHaveProperty('estimatedvalue');

      const dates = await getJson(
        "EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft.Dynamics.CRM." +
          'DateTimeAttributeMetadata?$select=LogicalName,Format',
      );
      expect(
        (dates.body.value as Array<Record<string, unknown>>).map(({ LogicalName, Format }) => [
          LogicalName,
          Format,
        ]),
      ).toEqual([
        ['estimatedclosedate', 'DateOnly'],
        ['actualclosedate', 'DateOnly'],
        ['createdon', 'DateAndTime'],
        ['modifiedon', 'DateAndTime'],
      ]);

      const refused = await getJson(
        "EntityDefinitions(LogicalName='lead')?$select=LogicalName" +
          '&$expand=Attributes($select=LogicalName,MaxLength)',
      );
      expect(refused).toEqual({
        status: 400,
        body: {
          error: {
            code: '0x80060888',
            message:
              "Could not find a property named 'MaxLength' on type " +
              "'Microsoft.Dynamics.CRM.AttributeMetadata'.",
          },
        },
      });
    },
  );

  it("serves a picklist's options through PicklistAttributeMetadata", async () => {
    const { status, body } = await getJson(
      "EntityDefinitions(LogicalName='lead')/Attributes(LogicalName='leadqualitycode')/" +
        'Microsoft.Dynamics.CRM.' +
        'PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)',
    );
    expect(status).toBe(200);
    const label = (text: string) => {
      const localized = { Label: text, LanguageCode: 1033, IsManaged: true };
      return { LocalizedLabels: [localized], UserLocalizedLabel: localized };
    };
    expect(body).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
      LogicalName: 'leadqualitycode',
      OptionSet: {
        Options: [
          { Value: 1, Label: label('Hot') },
          { Value: 2, Label: label('Warm') },
          { Value: 3, Label: label('Cold') },
        ],
      },
    });
    const notPicklist = await getJson(
      "EntityDefinitions(LogicalName='lead')/Attributes(LogicalName='subject')/Microsoft." +
        'Dynamics.CRM.PicklistAttributeMetadata',
    );
    expect(notPicklist).toEqual({
      status: 404,
      body: {
        error: {
          code: '0x80060888',
          message:
            'Resource not found for the segment ' +
            "'Microsoft.Dynamics.CRM.PicklistAttributeMetadata'.",
        },
      },
    });
  });

  it(
    'is as strict as the rest of the simulator: unknown tables, missing token, OData version, ' +
      'writes',
    async () => {
      expect(await getJson("EntityDefinitions(LogicalName='leed')")).toEqual({
        status: 404,
        body: {
          error: {
            code: '0x80041102',
            message:
              "The entity with a name = 'leed' with namemapping = 'Logical' was not found in the " +
              'MetadataCache.',
          },
        },
      });
      expect((await getJson(LEAD_DEFINITION, { Accept: 'application/json' })).status).toBe(401);
      expect(await getJson(LEAD_DEFINITION, { ...ODATA, 'OData-Version': '3.0' })).toEqual({
        status: 400,
        body: {
          error: {
            code: '0x80060888',
            message:
              "The value '3.0' of the OData-Version header is not supported: this service speaks " +
              "OData 4.0, so send '4.0'.",
          },
        },
      });
      expect(await getJson("EntityDefinitions(LogicalName='lead')", ODATA, 'DELETE')).toEqual({
        status: 405,
        body: {
          error: {
            code: '0x80060888',
            message:
              "The HTTP method 'DELETE' is not allowed on 'EntityDefinitions(LogicalName='lead')'.",
          },
        },
      });
    },
  );
});

describe('describeEntity', () => {
  const pick = (fields: CrmFieldMetadata[], name: string) =>
    fields.find((field) => field.name === name);

  it('normalises Dataverse attributes and Salesforce describe into the same model', async () => {
    const dynamicsCalls = dynamicsAdapter.callCount;
    const salesforceCalls = salesforceAdapter.callCount;
    const lead = await dynamicsAdapter.describeEntity!('lead');
    const sfLead = await salesforceAdapter.describeEntity!('Lead');
    // One definition read, then one cast read per derived type in use (String, DateTime, Picklist);
    // one describe.
    expect(dynamicsAdapter.callCount - dynamicsCalls).toBe(4);
    expect(salesforceAdapter.callCount - salesforceCalls).toBe(1);
    expect([lead.entity, sfLead.entity]).toEqual(['lead', 'Lead']);

    const text = { type: 'string', required: false, createable: true, updateable: true };
    expect([pick(lead.fields, 'lastname'), pick(sfLead.fields, 'LastName')]).toEqual([
      { name: 'lastname', ...text, required: true, maxLength: 50 },
      { name: 'LastName', ...text, required: true, maxLength: 80 },
    ]);
    expect([pick(lead.fields, 'emailaddress1'), pick(sfLead.fields, 'Email')]).toEqual([
      { name: 'emailaddress1', ...text, maxLength: 100 },
      { name: 'Email', ...text, maxLength: 80 },
    ]);
    expect([pick(lead.fields, 'leadqualitycode'), pick(sfLead.fields, 'Rating')]).toEqual([
      {
        name: 'leadqualitycode',
        type: 'picklist',
        required: false,
        createable: true,
        updateable: true,
        picklistValues: [1, 2, 3],
      },
      {
        name: 'Rating',
        type: 'picklist',
        required: false,
        createable: true,
        updateable: true,
        picklistValues: ['Hot', 'Warm', 'Cold'],
      },
    ]);
    expect([pick(lead.fields, 'fullname'), pick(sfLead.fields, 'Name')]).toEqual([
      {
        name: 'fullname',
        type: 'string',
        required: false,
        createable: false,
        updateable: false,
        maxLength: 160,
      },
      {
        name: 'Name',
        type: 'string',
        required: false,
        createable: false,
        updateable: false,
        maxLength: 121,
      },
    ]);
    expect([pick(lead.fields, 'leadid'), pick(sfLead.fields, 'Id')]).toEqual([
      { name: 'leadid', type: 'id', required: false, createable: true, updateable: false },
      { name: 'Id', type: 'id', required: false, createable: false, updateable: false },
    ]);
    expect(pick(lead.fields, 'estimatedvalue')).toEqual({
      name: 'estimatedvalue',
      type: 'number',
      required: false,
      createable: true,
      updateable: true,
    });
    expect(pick(sfLead.fields, 'NumberOfEmployees')).toEqual({
      name: 'NumberOfEmployees',
      type: 'integer',
      required: false,
      createable: true,
      updateable: true,
    });
    expect(pick(sfLead.fields, 'Description')).toEqual({
      name: 'Description',
      type: 'text',
      required: false,
      createable: true,
      updateable: true,
      maxLength: 32000,
    });
    // Platform-filled: the state pair in Dataverse, a defaulted picklist in Salesforce; recommended
    // is not required.
    expect(pick(lead.fields, 'statecode')).toEqual({
      name: 'statecode',
      type: 'picklist',
      required: false,
      createable: true,
      updateable: true,
    });
    expect(pick(sfLead.fields, 'Status')?.required).toBe(false);
    expect(pick(lead.fields, 'companyname')?.required).toBe(false);
    expect(lead.fields.filter((f) => f.required).map((f) => f.name)).toEqual([
      'subject',
      'lastname',
    ]);
    expect(sfLead.fields.filter((f) => f.required).map((f) => f.name)).toEqual([
      'LastName',
      'Company',
    ]);
  });

  it('tells date-only columns from date-times, on opportunities too', async () => {
    const opportunity = await dynamicsAdapter.describeEntity!('opportunity');
    const sfOpportunity = await salesforceAdapter.describeEntity!('Opportunity');
    expect([
      pick(opportunity.fields, 'estimatedclosedate')?.type,
      pick(opportunity.fields, 'modifiedon')?.type,
    ]).toEqual(['date', 'datetime']);
    expect([
      pick(sfOpportunity.fields, 'CloseDate')?.type,
      pick(sfOpportunity.fields, 'SystemModstamp')?.type,
    ]).toEqual(['date', 'datetime']);
    expect(pick(opportunity.fields, 'originatingleadid')).toEqual({
      name: 'originatingleadid',
      type: 'reference',
      required: false,
      createable: true,
      updateable: true,
    });
  });

  it('fails with NOT_FOUND naming an entity the CRM does not have', async () => {
    const dynamicsError = await dynamicsAdapter.describeEntity!('leed').catch(
      (error: unknown) => error,
    );
    expect(dynamicsError).toBeInstanceOf(LeadbridgeError);
    expect((dynamicsError as LeadbridgeError).code).toBe('NOT_FOUND');
    expect((dynamicsError as LeadbridgeError).message).toBe(
      'dynamics365: the CRM has no table "leed" (dynamics365: GET ' +
        "EntityDefinitions(LogicalName='leed') → 404 0x80041102: The entity with a name = " +
        "'leed' with namemapping = 'Logical' was not found in the MetadataCache.)",
    );
    const salesforceError = await salesforceAdapter.describeEntity!('Leed').catch(
      (error: unknown) => error,
    );
    expect(salesforceError).toBeInstanceOf(LeadbridgeError);
    expect((salesforceError as LeadbridgeError).code).toBe('NOT_FOUND');
    expect((salesforceError as LeadbridgeError).message).toMatch(
      /^salesforce target "salesforce": describe Leed failed: NOT_FOUND: /,
    );
  });
});
