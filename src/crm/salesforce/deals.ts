// Co-sell deals in Salesforce: flagged Opportunities without a referral yet (SOQL), then linked.
import type { SharedDeal } from '../adapter.js';
import { LeadbridgeError } from '../../core/errors.js';
import type { QueryRunner } from './changes.js';
import type { SalesforceContext, Signal } from './session.js';
import { soqlFieldName, soqlSelect } from './soql.js';

export async function readSharedDeals(
  runner: QueryRunner,
  shareField: string,
  externalIdField: string,
  fields: readonly string[],
): Promise<SharedDeal[]> {
  const soql = soqlSelect({
    fields: ['Id', ...fields.map(soqlFieldName)],
    from: 'Opportunity',
    where: [`${soqlFieldName(shareField)} = true`, `${soqlFieldName(externalIdField)} = null`],
    orderBy: 'CreatedDate ASC, Id ASC',
  });
  const deals: SharedDeal[] = [];
  let page = await runner.query(soql);
  for (;;) {
    for (const row of page.records) {
      const { attributes: _attributes, ...fields } = row;
      deals.push({ recordId: String(row.Id), fields });
    }
    if (!page.nextRecordsUrl) return deals;
    page = await runner.queryMore(page.nextRecordsUrl);
  }
}

/** The created referral's id on the Opportunity. */
export async function linkDeal(
  ctx: SalesforceContext,
  recordId: string,
  referralId: string,
  signal: Signal,
): Promise<void> {
  const field = ctx.settings.externalIdField;
  await ctx.session.call(
    `update Opportunity ${recordId}`,
    async () => {
      const result = await ctx.conn
        .sobject('Opportunity')
        .update({ Id: recordId, [field]: referralId });
      if (!result.success)
        throw new LeadbridgeError(
          'HTTP_ERROR',
          `salesforce: linking Opportunity ${recordId} failed`,
          {
            api: 'salesforce',
            provider: result,
          },
        );
    },
    signal,
  );
}
