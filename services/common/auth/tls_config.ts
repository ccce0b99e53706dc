/**
 * Mutual TLS between the services (AGORA_TLS=on): the gRPC port serves TLS and requires
 * a client certificate from the same CA; calls to other services present this
 * service's certificate, whose SAN (spiffe://agora/service/<name>) is its identity.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {ConfigError, type EnvReader} from '../config/env.js';
import type {ServiceName} from '../config/service_config.js';

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The TLS files of `service`, or undefined when AGORA_TLS is off (the default). */
export function readTlsConfig(
  env: EnvReader,
  service: ServiceName,
): TlsMaterial | undefined {
  if (env.oneOf('AGORA_TLS', 'off', ['on', 'off']) === 'off') return undefined;
  const raw = env.raw;
  const dir = raw.AGORA_TLS_DEV_DIR;
  const files: Array<[string, string | undefined]> = [
    [
      'AGORA_TLS_CA_FILE',
      raw.AGORA_TLS_CA_FILE || (dir && join(dir, 'ca.crt')),
    ],
    [
      'AGORA_TLS_CERT_FILE',
      raw.AGORA_TLS_CERT_FILE || (dir && join(dir, `${service}.crt`)),
    ],
    [
      'AGORA_TLS_KEY_FILE',
      raw.AGORA_TLS_KEY_FILE || (dir && join(dir, `${service}.key`)),
    ],
  ];
  const [ca, cert, key] = files.map(([name, path]) => {
    if (!path) {
      throw new ConfigError(name, 'must be set when AGORA_TLS=on', '');
    }
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(
        name,
        `names a file that cannot be read (${(err as Error).message})`,
        path,
      );
    }
  });
  return {ca, cert, key};
}

const SERVICE_SAN = /URI:spiffe:\/\/agora\/service\/([a-z]+)/;

/** The service a peer certificate names in its SAN, if any. */
export function serviceOfSan(
  subjectAltName: string | undefined,
): string | undefined {
  return subjectAltName ? SERVICE_SAN.exec(subjectAltName)?.[1] : undefined;
}
