// What `npm start` prints: where the simulators run, and the walk-through that README's Quick start
// shows too.

/**
 * The base URL of a simulator by name (partner-center, dynamics365, salesforce, graph, entra,
 * hubspot).
 */
export type SimulatorUrl = (name: string) => string;

/**
 * The walk-through, one shell line each, after `CFG=<config>`. README's Quick start holds the same
 * lines with the
 * default ports (a test checks it), so the two cannot drift apart again.
 */
export function walkThrough(url: SimulatorUrl): string[] {
  const d365 = url('dynamics365');
  return [
    'npx leadbridge --config $CFG status             # per target: applied, failed, ' +
      'quarantined; cursors; last runs',
    'npx leadbridge --config $CFG demo leads         # referral id, Dynamics lead id, ' +
      'opportunity id, company, states',
    "npx leadbridge --config $CFG trace <referralId> # the referral's audit trail",
    '# Act as a CRM user: qualify a Dynamics lead (this creates an opportunity), give the deal ' +
      'a close date and a value, win it.',
    `curl -s -X POST ${d365}/_sim/leads/<leadId>/qualify   # the reply starts with the ` +
      `opportunity id ("demo leads" shows it too)`,
    `curl -s -X PATCH -H 'Content-Type: application/json' -d '{"estimatedclosedate": ` +
      `"2027-03-31", "estimatedvalue": 50000}' ${d365}/_sim/opportunities/<opportunityId>`,
    '# The next poll accepts the referral: Active/Accepted, with deal name, value, currency, ' +
      'close date and notes.',
    '# (Partner Center needs a close date to accept: without one the accept is quarantined, ' +
      'and trace says which field is missing.)',
    `curl -s -X POST ${d365}/_sim/opportunities/<opportunityId>/win`,
    'npx leadbridge --config $CFG demo leads <referralId>   # after the next poll: Closed/Won',
    `curl -s ${url('graph')}/_sim/mails | head -c 600     # the alerts the worker sent (hot ` +
      `leads, leads about to expire)`,
  ];
}

export interface BannerFacts {
  url: SimulatorUrl;
  /** The web console's URL (http://127.0.0.1:7400/console). */
  console: string;
  config: string;
  referrals: string;
  intervalSeconds: string;
  newLeadEverySeconds: string;
}

export function demoBanner(facts: BannerFacts): string {
  const { url } = facts;
  return [
    '',
    'leadbridge demo: Partner Center → Dynamics 365 + Salesforce + HubSpot,' +
      ' with outcomes flowing back',
    '',
    `  Open the console: ${facts.console}`,
    '    (hot leads near expiry, why a referral is quarantined and its retry,' +
      ' where a CRM field comes from)',
    '',
    `  partner-center ${url('partner-center')}`,
    `  dynamics365    ${url('dynamics365')}`,
    `  salesforce     ${url('salesforce')}`,
    `  hubspot        ${url('hubspot')}   (contacts, companies and deals: ` +
      `${url('hubspot')}/_sim/objects/deals)`,
    `  graph          ${url('graph')}   (alert mails: ${url('graph')}/_sim/mails, Teams cards: ` +
      `${url('graph')}/_sim/teams-webhook)`,
    `  entra          ${url('entra')}  (Entra ID: the demo signed in through it, as leadbridge ` +
      `login partner-center does)`,
    `  config         ${facts.config}`,
    '',
    `The worker syncs ${facts.referrals} seeded referrals now, polls every ` +
      `${facts.intervalSeconds} s, and a new lead arrives every ${facts.newLeadEverySeconds} s.`,
    'In another terminal, from this folder:',
    `  CFG=${facts.config}`,
    ...walkThrough(url).map((line) => `  ${line}`),
    'Ctrl+C stops the worker (after the cycle in flight) and the simulators.',
    '',
  ].join('\n');
}
