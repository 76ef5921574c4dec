// Which PostgreSQL the integration tests use, and the rule when none is configured: skip locally,
// fail on CI.
import knex from 'knex';
import { beforeAll, describe } from 'vitest';

const CI_DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * LEADBRIDGE_TEST_PG_URL, else DATABASE_URL, else (on CI only) the local server; undefined = no
 * PostgreSQL.
 */
function pgTestUrl(): string | undefined {
  return (
    process.env.LEADBRIDGE_TEST_PG_URL ??
    process.env.DATABASE_URL ??
    (process.env.CI ? CI_DEFAULT_URL : undefined)
  );
}

/**
 * A describe block that needs PostgreSQL. Without a URL it is skipped with a warning naming the
 * variable;
 * on CI (CI=true) without LEADBRIDGE_TEST_PG_URL it runs against the local default and fails loudly
 * if that
 * server does not answer. `fn` receives the URL.
 */
export function describeWithPg(name: string, fn: (url: string) => void): void {
  const url = pgTestUrl();
  if (url === undefined) {
    console.warn(
      `${name}: skipped because LEADBRIDGE_TEST_PG_URL is not set (nor DATABASE_URL); set it ` +
        `to a PostgreSQL URL to run it`,
    );
    describe.skip(name, () => fn(''));
    return;
  }
  const explicit = process.env.LEADBRIDGE_TEST_PG_URL ?? process.env.DATABASE_URL;
  describe(name, () => {
    if (explicit === undefined) beforeAll(() => assertReachable(url));
    fn(url);
  });
}

async function assertReachable(url: string): Promise<void> {
  const probe = knex({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 5_000,
  });
  try {
    await probe.raw('select 1');
  } catch (error) {
    throw new Error(
      `CI=true but LEADBRIDGE_TEST_PG_URL is not set, and no PostgreSQL answers at ${url}: ` +
        `${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await probe.destroy();
  }
}
