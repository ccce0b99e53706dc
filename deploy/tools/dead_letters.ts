/**
 * `npm run dead-letters`: lists the dead letters of every consumer queue (count, and per
 * message its event id, routing key, why it died, type, size and first bytes);
 * `npm run dead-letters -- --replay <queue>` publishes those of one queue again to their
 * original exchange and routing key. Reads AGORA_AMQP_URL (and
 * AGORA_AMQP_PASSWORD_FILE) and AGORA_NAMESPACE as the services do.
 */
import {EnvReader} from '../../services/common/config/env.js';
import {
  formatDeadLetters,
  knownQueues,
  listDeadLetters,
  replayDeadLetters,
} from './dead_letter_queues.js';

async function main(args: string[]): Promise<number> {
  const env = new EnvReader();
  // The same variables, defaults and password file as the services' (service_config.ts).
  const config = {
    amqpUrl: env.urlWithPasswordFile(
      'AGORA_AMQP_URL',
      'amqp://guest:guest@127.0.0.1:5672',
      ['amqp:'],
      'AGORA_AMQP_PASSWORD_FILE',
    ),
    namespace: env.string('AGORA_NAMESPACE', 'agora'),
  };
  const at = args.indexOf('--replay');
  try {
    if (at >= 0) {
      const queue = args[at + 1];
      if (!queue) {
        console.error(
          `dead-letters: --replay needs a queue: ${knownQueues().join(', ')}`,
        );
        return 2;
      }
      const n = await replayDeadLetters(
        config.amqpUrl,
        config.namespace,
        queue,
      );
      console.log(`${queue}: replayed ${n} dead letter${n === 1 ? '' : 's'}`);
      return 0;
    }
    console.log(
      formatDeadLetters(
        await listDeadLetters(config.amqpUrl, config.namespace),
      ),
    );
    return 0;
  } catch (err) {
    console.error(
      `dead-letters: ${err instanceof Error ? err.message : String(err)}`,
    );
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
