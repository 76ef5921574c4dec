// A CRM kind defined in test code: an in-memory CRM and its module (see crm/module.ts).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type {
  CrmAdapter,
  CrmAdapterOptions,
  CrmChangePage,
  CrmRecordState,
  MappedRecord,
  UpsertItemResult,
} from '../../../src/crm/adapter.js';
import type { CrmModule } from '../../../src/crm/module.js';

const START_MS = Date.parse('2026-12-04T10:00:00.000Z');

/** The records of every memory target, shared so a test can play the CRM user. */
export class MemoryCrm {
  readonly records = new Map<string, CrmRecordState>();
  private clockMs = START_MS;

  /** Stamps advance a whole second per change, like modifiedon. */
  stamp(): string {
    this.clockMs += 1_000;
    return new Date(this.clockMs).toISOString();
  }

  /** A CRM user edits the record of a referral. */
  edit(referralId: string, fields: Record<string, unknown>): void {
    const record = this.records.get(referralId);
    if (!record) throw new Error(`no memory record for referral ${referralId}`);
    this.records.set(referralId, {
      ...record,
      fields: { ...record.fields, ...fields },
      modifiedAt: this.stamp(),
    });
  }
}

class MemoryAdapter implements CrmAdapter {
  readonly kind = 'memory';
  readonly maxBatchSize = 2;
  callCount = 0;

  constructor(
    readonly target: string,
    private readonly crm: MemoryCrm,
  ) {}

  async upsertLeads(records: MappedRecord[]): Promise<UpsertItemResult[]> {
    this.callCount += 1;
    return records.map((record) => {
      const known = this.crm.records.get(record.referralId);
      const recordId = known?.recordId ?? `mem-${this.crm.records.size + 1}`;
      this.crm.records.set(record.referralId, {
        referralId: record.referralId,
        recordId,
        entity: 'lead',
        modifiedAt: this.crm.stamp(),
        fields: { ...known?.fields, ...record.fields },
        opportunity: null,
      });
      return { referralId: record.referralId, ok: true, recordId, created: !known };
    });
  }

  async *readChanges(since: string | null): AsyncIterable<CrmChangePage> {
    this.callCount += 1;
    const after = since === null ? -Infinity : Date.parse(since);
    const records = [...this.crm.records.values()]
      .filter((record) => Date.parse(record.modifiedAt) > after)
      .sort((a, b) => a.modifiedAt.localeCompare(b.modifiedAt));
    yield { records, cursor: records.at(-1)?.modifiedAt ?? since };
  }

  async getByReferralId(referralId: string): Promise<CrmRecordState | null> {
    this.callCount += 1;
    return this.crm.records.get(referralId) ?? null;
  }
}

const MAPPING = `version: 1
target: memory
entity: lead
fields:
  company:
    source: customerProfile.name
  referral:
    source: $referralId
    transforms: [required]
status:
  declined:
    - { entity: lead, when: { state: declined } }
  declineReasons:
    field: lead.reason
    default: Others
`;

/** The module of the `memory` kind, its mapping written into `dir`; every adapter uses `crm`. */
export function memoryModule(crm: MemoryCrm, dir: string): CrmModule<{ region: string }> {
  const mappingFile = path.join(dir, 'memory-mapping.yaml');
  writeFileSync(mappingFile, MAPPING);
  return {
    kind: 'memory',
    title: 'Memory CRM',
    settingsSchema: z.strictObject({ region: z.enum(['eu', 'us']).default('eu') }),
    defaultLimits: { concurrency: 3, requestsPerMinute: 0 },
    mappingFile,
    changeStampPrecisionMs: 1_000,
    endpoint: (settings) => `memory://${settings.region}`,
    createAdapter: async (options: CrmAdapterOptions) => new MemoryAdapter(options.target, crm),
  };
}
