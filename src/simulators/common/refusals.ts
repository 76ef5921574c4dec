// Record-level refusals for the CRM simulators: writes to one record (by its referral key) fail
// with a named error.
import { z } from 'zod';
import { SimHttpError, type SimRoute } from './server.js';

const ruleSchema = z.object({
  /** The value of the record's referral key (Dataverse alternate key, Salesforce external id). */
  key: z.string().min(1),
  /** A name from the simulator's catalogue of documented errors. */
  error: z.string().min(1),
  /** The field the error names (field too long, required field, picklist value). */
  field: z.string().min(1).optional(),
  /** Refuse this many writes, then let them through; absent: every write. */
  times: z.number().int().positive().optional(),
});
const rulesSchema = z.object({ rules: z.array(ruleSchema) });

type RefusalRule = z.infer<typeof ruleSchema>;

/** A documented error, ready to answer (the catalogue of each simulator builds them). */
export type RefusalFactory<E> = (rule: { field?: string; key: string }) => E;

export class RecordRefusals<E> {
  private rules: Array<RefusalRule & { remaining: number | undefined }> = [];
  refused = 0;

  constructor(private readonly catalogue: Readonly<Record<string, RefusalFactory<E>>>) {}

  /** Replaces the rules; an error name not in the catalogue is refused with the names that are. */
  configure(input: unknown): void {
    const parsed = rulesSchema.safeParse(input);
    if (!parsed.success)
      throw new SimHttpError(400, 'BadRequest', `refusals: ${parsed.error.issues[0]?.message}`);
    for (const rule of parsed.data.rules) {
      if (!this.catalogue[rule.error])
        throw new SimHttpError(
          400,
          'BadRequest',
          `refusals: unknown error "${rule.error}" (known: ` +
            `${Object.keys(this.catalogue).join(', ')})`,
        );
    }
    this.rules = parsed.data.rules.map((rule) => ({ ...rule, remaining: rule.times }));
  }

  clear(): void {
    this.rules = [];
  }

  /**
   * The error for a write to the record keyed `key`, if a rule refuses it (one use of the rule).
   */
  take(key: string): E | undefined {
    const rule = this.rules.find(
      (r) => r.key === key && (r.remaining === undefined || r.remaining > 0),
    );
    if (!rule) return undefined;
    if (rule.remaining !== undefined) rule.remaining--;
    this.refused++;
    return this.catalogue[rule.error]!({ key, ...(rule.field ? { field: rule.field } : {}) });
  }

  /** POST /_sim/refusals {rules: [{key, error, field?, times?}]} and DELETE /_sim/refusals. */
  routes(): SimRoute[] {
    return [
      {
        method: 'POST',
        pattern: /^\/_sim\/refusals$/,
        handler: (req) => {
          this.configure(req.body);
          return { status: 200, body: { rules: this.rules.length } };
        },
      },
      {
        method: 'DELETE',
        pattern: /^\/_sim\/refusals$/,
        handler: () => {
          this.clear();
          return { status: 204 };
        },
      },
    ];
  }
}
