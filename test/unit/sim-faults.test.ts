// The simulators' fault injector: `after` lets a known number of matching requests through, then
// faults the rest.
import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../../src/simulators/common/faults.js';

describe('fault rules with after', () => {
  it(
    'let the first matching requests through, then fault every later one; others never ' + 'count',
    () => {
      const faults = new FaultInjector();
      faults.configure({
        rules: [
          { kind: '429', count: 1, method: 'POST', retryAfterSeconds: 0 },
          { kind: '5xx', status: 503, method: 'POST', pathContains: '$batch', after: 2 },
        ],
      });
      const kinds = [
        // the 429 rule takes it: not counted by `after`
        faults.decide('POST', '/api/data/' + 'v9.2/' + '$batch'),
        faults.decide('GET', '/api/data/v9.2/leads'), // does not match
        faults.decide('POST', '/api/data/v9.2/$batch'), // 1st let through
        faults.decide('POST', '/api/data/v9.2/$batch'), // 2nd let through
        faults.decide('POST', '/api/data/v9.2/$batch'),
        faults.decide('POST', '/api/data/v9.2/$batch'),
      ].map((decision) => decision.kind);
      expect(kinds).toEqual(['429', 'none', 'none', 'none', '5xx', '5xx']);
    },
  );
});
