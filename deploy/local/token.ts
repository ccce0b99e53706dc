/**
 * `npm run token -- --customer alice` | `--role admin` | `--service order` [`--ttl 3600`]:
 * prints a JWT from the development issuer (.agora/auth, created on first use) for buf
 * curl, curl and ghz: `-H "authorization: Bearer $(npm run --silent token -- --role admin)"`.
 * A real deployment gets its tokens from its identity provider instead.
 */
import {parseArgs} from 'node:util';
import {
  SERVICE_PORTS,
  type ServiceName,
} from '../../services/common/config/service_config.js';
import {serviceRole} from '../../services/common/auth/auth_config.js';
import {localDevIssuer} from '../../services/common/process/service_process.js';

const USAGE =
  'usage: npm run token -- (--customer <id> | --role admin | --service <name>) [--ttl <seconds>]';

async function main(): Promise<void> {
  const {values} = parseArgs({
    options: {
      customer: {type: 'string'},
      role: {type: 'string'},
      service: {type: 'string'},
      ttl: {type: 'string', default: '3600'},
    },
  });
  const ttlS = Number(values.ttl);
  if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > 30 * 86_400) {
    throw new Error(`--ttl must be 1 to 2592000 seconds, got ${values.ttl}`);
  }
  const chosen = [values.customer, values.role, values.service].filter(
    v => v !== undefined,
  );
  if (chosen.length !== 1) throw new Error(USAGE);
  const issuer = await localDevIssuer();
  if (values.customer !== undefined) {
    console.log(
      await issuer.mint({subject: values.customer, roles: ['customer'], ttlS}),
    );
  } else if (values.role !== undefined) {
    if (values.role !== 'admin') {
      throw new Error(
        `--role must be admin (a customer token: --customer <id>), got ${values.role}`,
      );
    }
    console.log(await issuer.mint({subject: 'admin', roles: ['admin'], ttlS}));
  } else {
    const service = values.service as ServiceName;
    if (!(service in SERVICE_PORTS)) {
      throw new Error(
        `--service must be one of ${Object.keys(SERVICE_PORTS).join(', ')}`,
      );
    }
    console.log(
      await issuer.mintForService(service, {
        subject: serviceRole(service),
        roles: [serviceRole(service)],
        ttlS,
      }),
    );
  }
}

main().catch(err => {
  console.error(`token: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
