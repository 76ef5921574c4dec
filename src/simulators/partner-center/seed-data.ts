// Word pools for seeded referrals: companies, people, places and customer needs that look like real
// leads.

/**
 * Company names, some with apostrophes, backslashes and accents on purpose (quoting and escaping
 * bugs show up).
 */
export const COMPANY_STEMS: readonly string[] = [
  'Northwind Traders',
  'Contoso',
  'Fabrikam',
  'Adventure Works',
  'Tailspin Toys',
  'Wingtip Toys',
  'Litware',
  'Proseware',
  'Alpine Ski House',
  'Coho Winery',
  'Woodgrove Bank',
  'Lamna Healthcare',
  'Trey Research',
  'Fourth Coffee',
  "Margie's Travel",
  "O'Brien \\ Sons",
  'Blue Yonder Airlines',
  'Humongous Insurance',
  'Wide World Importers',
  'Relecloud',
  "Munson's Pickles and Preserves",
  'VanArsdel',
  'Bellows College',
  'Graphic Design Institute',
  'City Power & Light',
  'Datum Corporation',
  'Consolidated Messenger',
  'Southridge Video',
  'Lucerne Publishing',
  'Northridge Logistics',
  'Müller & Söhne',
  "L'Atelier Numérique",
  'Kōbe Precision Works',
  'Fjord \\ Data',
  'Nordic Timber',
  'Sunrise Dental',
  "D'Angelo Foods",
  'Pinecrest Clinics',
  'Harbor Freight Partners',
  'Redwood Analytics',
];

export const COMPANY_SUFFIXES: readonly string[] = [
  '',
  ' Ltd',
  ' Inc.',
  ' LLC',
  ' GmbH',
  ' Group',
  ' Holdings',
  ' & Co.',
];

export const FIRST_NAMES: readonly string[] = [
  'Alex',
  'Maria',
  'Wei',
  'Priya',
  'Jonas',
  'Fatima',
  'Liam',
  'Sofia',
  'Kenji',
  'Amara',
  'Diego',
  'Chloé',
  'Noah',
  'Aisha',
  'Lukas',
  'Mei',
  'Oliver',
  'Zanele',
  'Mateo',
  'Ingrid',
  'Seán',
  'Yuki',
  'Hannah',
  'Ravi',
  'Elena',
  'Tomás',
  'Grace',
  'Omar',
  'Freya',
  'Samuel',
];

export const LAST_NAMES: readonly string[] = [
  "O'Connor",
  'Müller',
  'Nguyen',
  'Patel',
  'García',
  'Smith',
  'Kowalski',
  'Tanaka',
  'Okafor',
  'Johansson',
  'Rossi',
  'Dubois',
  "D'Souza",
  'Kim',
  'Silva',
  'Chen',
  'Hernández',
  'Schmidt',
  'Murphy',
  'Ivanova',
  'Haddad',
  'Lee',
  'Brown',
  'Novak',
  'Fischer',
];

/**
 * A customer need; products and services are tag ids of referral-resources.md (Tag `{id}` on the
 * wire).
 */
export interface CustomerNeed {
  title: string;
  notes: string;
  products: readonly string[];
  services: readonly string[];
}

export const NEEDS: readonly CustomerNeed[] = [
  {
    title: 'Azure migration',
    notes:
      'Moving about 40 on-premises servers to Azure before the data-centre lease ends in the ' +
      'autumn.',
    products: ['Azure'],
    services: ['DeploymentOrMigration', 'ManagedServices'],
  },
  {
    title: 'Microsoft 365 rollout',
    notes:
      'Wants 250 seats of Microsoft 365 E3 with Teams Phone; currently on an old on-premises ' +
      'mail server.',
    products: ['Microsoft365', 'Teams'],
    services: ['DeploymentOrMigration', 'LearningAndCertification'],
  },
  {
    title: 'Dynamics 365 Sales implementation',
    notes:
      'Sales team of 60 works from spreadsheets; needs pipeline tracking and Outlook integration.',
    products: ['Dynamics365Enterprise'],
    services: ['Integration', 'DeploymentOrMigration'],
  },
  {
    title: 'Security assessment',
    notes: 'Had a phishing incident last quarter; asks for an assessment and Defender deployment.',
    products: ['EnterpriseMobilityAndSecurity', 'Microsoft365'],
    services: ['ConsultingAndProfessional', 'ManagedServices'],
  },
  {
    title: 'Data platform modernisation',
    notes: 'Reporting runs overnight on SQL Server 2012; wants near-real-time dashboards.',
    products: ['Azure', 'PowerBI'],
    services: ['ConsultingAndProfessional', 'ProjectServices'],
  },
  {
    title: 'Copilot readiness',
    notes: 'Leadership wants a Copilot pilot for 50 users; data governance is not in place yet.',
    products: ['Microsoft365'],
    services: ['ConsultingAndProfessional', 'LearningAndCertification'],
  },
  {
    title: 'Virtual desktop',
    notes:
      'Contact centre of 120 agents needs secure remote desktops; budget approved for this ' +
      'fiscal year.',
    products: ['Azure', 'Windows'],
    services: ['DeploymentOrMigration', 'ManagedServices'],
  },
  {
    title: 'Business Central upgrade',
    notes:
      'Runs NAV 2016 with customisations; looking for a partner to move to Business Central ' +
      'online.',
    products: ['Dynamics365Business', 'DynamicsAX,GP,NAV,SL'],
    services: ['DeploymentOrMigration', 'Licensing'],
  },
  {
    title: 'Backup and disaster recovery',
    notes: 'No off-site backup today; needs recovery within four hours for the ERP system.',
    products: ['Azure'],
    services: ['ConsultingAndProfessional', 'ManagedServices'],
  },
  {
    title: 'Power Platform apps',
    notes:
      'Paper forms in the warehouse; wants simple apps and approval flows for the floor staff.',
    products: ['Office', 'SharePoint'],
    services: ['CustomSolution(ISV)', 'LearningAndCertification'],
  },
  {
    title: 'SAP on Azure',
    notes: 'SAP ECC on ageing hardware; considering RISE with SAP on Azure within 18 months.',
    products: ['Azure', 'SQL'],
    services: ['DeploymentOrMigration', 'ConsultingAndProfessional'],
  },
  {
    title: 'Teams calling',
    notes:
      'Replacing a PBX across 6 offices; needs number porting and Teams Rooms for meeting spaces.',
    products: ['Teams', 'SurfaceHub'],
    services: ['DeploymentOrMigration', 'Hardware'],
  },
];

/** Industry tag ids (referral-resources.md, "Industries"). */
export { INDUSTRY_TAGS as INDUSTRIES } from './vocabulary.js';

export const INVITE_NOTES: readonly string[] = [
  'Customer asked for a partner with a local presence.',
  'Routed by the Microsoft account team after a discovery call.',
  'Customer attended a Microsoft webinar and asked for follow-up.',
  'Customer prefers a partner who can also provide support afterwards.',
];

export const REFERRAL_SOURCES: readonly string[] = [
  'AppSource',
  'Azure Marketplace',
  'Azure portal',
];
export const CALLS_TO_ACTION: readonly string[] = [
  'Contact me',
  'Get it now',
  'Free trial',
  'Test drive',
];
/**
 * Other partners that invite this one into co-sell deals (fixed ids, so a partner is the same
 * organisation everywhere).
 */
export const CO_SELL_PARTNERS: readonly Readonly<{
  organizationId: string;
  organizationName: string;
}>[] = Object.freeze([
  Object.freeze({
    organizationId: '0b6f3e2a-51c4-4d7e-9a28-3c1d5e7f9a01',
    organizationName: 'Adatum Consulting',
  }),
  Object.freeze({
    organizationId: '7e2d4c6b-8a09-4f1e-b3c5-d7e9f1a3b502',
    organizationName: 'Tailwind Services',
  }),
  Object.freeze({
    organizationId: 'c3a5e7f9-1b2d-4e6f-8a0c-2e4f6a8c0d03',
    organizationName: 'Bluewater IT Partners',
  }),
  Object.freeze({
    organizationId: '4f6a8c0e-2d4f-4a6c-9e0a-4c6e8a0c2e04',
    organizationName: 'Cerulean Systems',
  }),
]);
