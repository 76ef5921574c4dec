// Co-sell deals in Salesforce: flagged Opportunities without a referral yet (SOQL), every page.
import type { SharedDeal } from '../adapter.js';
import type { QueryRunner } from './changes.js';
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
