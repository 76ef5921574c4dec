// The referral vocabulary as Microsoft documents it, owned by the simulator (it imports no client
// code).
// Sources: MicrosoftDocs/partner-rest partner-rest/develop/referral-resources.md (enums, tag ids,
// transition table)
// and microsoft/PowerPlatformConnectors
// connectors/PartnerCenterReferrals/apiDefinition.swagger.json
// (SolutionTag.type, CustomerProfileId.profileType, inviteContext.assistanceRequestCode,
// salesStage).

export const STATUSES = ['None', 'New', 'Active', 'Closed'] as const;
/**
 * referral-resources.md lists these eight; the portal also shows Error, which the service sets on
 * its own.
 */
export const SUBSTATUSES = [
  'None',
  'Pending',
  'Received',
  'Accepted',
  'Won',
  'Lost',
  'Declined',
  'Expired',
  'Error',
] as const;
export const REFERRAL_TYPES = ['Independent', 'Shared'] as const;
export const QUALIFICATIONS = ['None', 'Direct', 'MarketingQualified', 'SalesQualified'] as const;
export const DIRECTIONS = ['Incoming', 'Outgoing'] as const;
export const SALES_STAGES = ['Qualify', 'Develop', 'Propose', 'Close'] as const;
export const TARGET_TYPES = ['None', 'BusinessProfileLocation', 'SolutionProfile'] as const;
export const PROFILE_ID_TYPES = ['Duns', 'External'] as const;
export const SOLUTION_TYPES = ['None', 'Category', 'Name'] as const;
export const ASSISTANCE_REQUEST_CODES = [
  'Unknown',
  'GeneralOrOther',
  'CustomerTechnicalArchitecture',
  'ProofOfConceptOrDemo',
  'QuotesOrLicensing',
  'PostSalesCustomerSuccess',
  'WorkloadSpecificValueProposition',
] as const;
export const CUSTOMER_SIZES = [
  '1to50employees',
  '51to500employees',
  'Morethan500employees',
  '1to9employees',
  '10to50employees',
  '51to250employees',
  '251to1000employees',
  '1001to5000employees',
  '5001to10000employees',
  '10001to20000employees',
  'Morethan20000employees',
] as const;

/** Tag ids of referral-resources.md ("Products", "Services", "Industries", "Solutions"). */
export const PRODUCT_TAGS = [
  'Azure',
  'EnterpriseMobilityAndSecurity',
  'Exchange',
  'DeveloperTools',
  'Dynamics365Business',
  'Dynamics365Enterprise',
  'DynamicsAX,GP,NAV,SL',
  'Microsoft365',
  'Office',
  'PowerBI',
  'Project',
  'SharePoint',
  'SkypeForBusiness',
  'Surface',
  'SurfaceHub',
  'SQL',
  'Teams',
  'Visio',
  'Windows',
  'Yammer',
] as const;
export const SERVICE_TAGS = [
  'ConsultingAndProfessional',
  'CustomSolution(ISV)',
  'DeploymentOrMigration',
  'Hardware',
  'Integration',
  'IPServices(ISV)',
  'LearningAndCertification',
  'Licensing',
  'ManagedServices',
  'ProjectServices',
] as const;
export const INDUSTRY_TAGS = [
  'Agriculture, Forestry, & Fishing',
  'Communications & Media',
  'Education',
  'Financial Services',
  'Government',
  'Healthcare',
  'Hospitality',
  'Manufacturing',
  'Power & Utilities',
  'Public Safety and National Security',
  'Retail & Consumer Goods',
  'Services',
  'Travel & Transportation',
  'Wholesale & Distribution',
] as const;
/**
 * A sample of the documented solution ids, with display names as the documented examples write
 * them.
 */
export const SOLUTION_TAGS: ReadonlyArray<{ id: string; name: string }> = [
  { id: 'Dynamics365forFieldService', name: 'Dynamics 365 for Field Service' },
  { id: 'Dynamics365forSales', name: 'Dynamics 365 for Sales' },
  { id: 'CloudMigration', name: 'Cloud Migration' },
  { id: 'DataWarehouse', name: 'Data Warehouse' },
  { id: 'MachineLearning', name: 'Machine Learning' },
  { id: 'SAPonAzure', name: 'SAP on Azure' },
];

/**
 * "Status & Substatus transition states" of referral-resources.md: from status → statuses it may
 * move to, and the
 * substatuses allowed with each status. Closed → Closed is listed there, but this simulator refuses
 * any write to a
 * Closed referral (409): whether the service allows it is not documented, so the stricter choice is
 * taken.
 */
export const STATUS_MOVES: Readonly<Record<string, readonly string[]>> = {
  New: ['New', 'Active', 'Closed'],
  Active: ['Active', 'Closed'],
  Closed: ['Closed'],
};
export const SUBSTATUSES_OF: Readonly<Record<string, readonly string[]>> = {
  New: ['Pending', 'Received'],
  Active: ['Accepted'],
  Closed: ['Won', 'Lost', 'Declined', 'Expired'],
};

/**
 * Which closing substatus a partner may set, and from which status (decline a new lead; win or lose
 * an accepted one).
 */
export const PARTNER_CLOSES: Readonly<Record<string, string>> = {
  Declined: 'New',
  Won: 'Active',
  Lost: 'Active',
};

/** Statuses a partner can no longer change. */
export function isArchived(status: unknown): boolean {
  return status === 'Closed';
}
