// `leadbridge webhooks register|show|remove`: the Partner Center webhook registration.
import type { Command } from 'commander';
import { LeadbridgeError } from '../core/errors.js';
import { REFERRAL_WEBHOOK_EVENTS } from '../source/partner-center/webhooks.js';
import type { CliContext, GlobalOptions } from './context.js';
import { createCliLogger, loadCliConfig } from './setup.js';

export function addWebhooksCommands(
  program: Command,
  context: CliContext,
  globalOptions: (command: Command) => GlobalOptions,
): void {
  const webhooks = program
    .command('webhooks')
    .description(
      'the Partner Center webhook registration (referral events): an early sync trigger',
    );
  const client = async (command: Command) => {
    const globals = globalOptions(command);
    const config = await loadCliConfig(context, globals);
    const logger = createCliLogger(context, globals, config.log);
    const { createWebhookRegistrationClient } = await import('./compose.js');
    return { config, registration: createWebhookRegistrationClient(config, logger) };
  };
  webhooks
    .command('register')
    .description(`registers the public callback URL for ${REFERRAL_WEBHOOK_EVENTS.join(', ')}`)
    .option(
      '--url <url>',
      'the public https URL of the callback route (default: webhooks.publicUrl)',
    )
    .action(async (options: { url?: string }, command: Command) => {
      const { config, registration } = await client(command);
      const url = options.url ?? config.webhooks.publicUrl;
      if (!url) {
        throw new LeadbridgeError(
          'CONFIG_INVALID',
          'webhooks register: give the public callback URL with --url or set webhooks.publicUrl',
        );
      }
      checkCallbackUrl(url);
      const result = await registration.register(url);
      context.stdout.write(
        `registered ${result.url} for ${result.events.join(', ')}` +
          `${result.subscriberId ? ` (subscriber ${result.subscriberId})` : ''}\n`,
      );
    });
  webhooks
    .command('show')
    .description('prints the current registration')
    .option('--json', 'as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { registration } = await client(command);
      const current = await registration.show();
      if (options.json) context.stdout.write(`${JSON.stringify(current)}\n`);
      else if (!current) context.stdout.write('no webhook registration\n');
      else context.stdout.write(`${current.url}\nevents: ${current.events.join(', ')}\n`);
    });
  webhooks
    .command('remove')
    .description('removes the registration (polling goes on as before)')
    .action(async (_options: unknown, command: Command) => {
      const { registration } = await client(command);
      const removed = await registration.remove();
      context.stdout.write(
        removed ? 'webhook registration removed\n' : 'no webhook registration\n',
      );
    });
}

/** Partner Center posts to the internet: https, except a loopback URL (the simulator, tests). */
function checkCallbackUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new LeadbridgeError('CONFIG_INVALID', `webhooks register: --url ${value} is not a URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `webhooks register: --url must be https (got ${value}); ` +
        'put the route behind a TLS reverse proxy',
    );
  }
}
