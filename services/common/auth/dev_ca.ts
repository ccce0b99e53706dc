/**
 * A development certificate authority for mutual TLS between the services: one CA,
 * and per service a key and a certificate whose SAN carries its identity
 * (`spiffe://agora/service/<name>`) next to localhost and 127.0.0.1, plus one client
 * certificate for tools and tests. Made with openssl once per directory; a real
 * deployment brings its own PKI (cert-manager, SPIRE, a cloud CA).
 */
import {execFileSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {join} from 'node:path';
import {SERVICE_PORTS, type ServiceName} from '../config/service_config.js';

/** The SAN URI that names a service; grpc_adapter.ts reads it back. */
export function serviceSpiffeId(service: ServiceName): string {
  return `spiffe://agora/service/${service}`;
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export class DevCa {
  private constructor(readonly dir: string) {}

  get caFile(): string {
    return join(this.dir, 'ca.crt');
  }

  /** Must match what service_config.ts derives from AGORA_TLS_DEV_DIR. */
  files(name: ServiceName | 'client'): TlsFiles {
    return {
      ca: this.caFile,
      cert: join(this.dir, `${name}.crt`),
      key: join(this.dir, `${name}.key`),
    };
  }

  /** What a launcher gives every service to serve and call over mutual TLS. */
  get env(): Record<string, string> {
    return {AGORA_TLS: 'on', AGORA_TLS_DEV_DIR: this.dir};
  }

  /** Creates the CA and certificates under `dir` unless they are there (atomically). */
  static ensure(dir: string): DevCa {
    const ca = new DevCa(dir);
    if (existsSync(join(dir, 'client.crt'))) return ca;
    const tmp = `${dir}.${process.pid}.${randomUUID()}.tmp`;
    mkdirSync(tmp, {recursive: true, mode: 0o700});
    const run = (...args: string[]) =>
      execFileSync('openssl', args, {cwd: tmp, stdio: 'pipe'});
    run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '825',
      '-subj',
      '/CN=Agora development CA',
    );
    const names: Array<ServiceName | 'client'> = [
      ...(Object.keys(SERVICE_PORTS) as ServiceName[]),
      'client',
    ];
    for (const name of names) {
      const id =
        name === 'client' ? 'spiffe://agora/client/dev' : serviceSpiffeId(name);
      writeFileSync(
        join(tmp, `${name}.ext`),
        `subjectAltName=URI:${id},DNS:localhost,IP:127.0.0.1\n` +
          'extendedKeyUsage=serverAuth,clientAuth\n',
      );
      run(
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      );
      run(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '825',
        '-extfile',
        `${name}.ext`,
      );
    }
    try {
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, {recursive: true, force: true});
      if (!existsSync(join(dir, 'client.crt'))) throw err;
    }
    return ca;
  }
}

/** The contents of TLS files, as gRPC credentials take them. */
export function loadTls(files: TlsFiles): {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
} {
  return {
    ca: readFileSync(files.ca),
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
  };
}
