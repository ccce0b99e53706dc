/**
 * The generated HAProxy config: the settings STACK.md §9 found necessary for gRPC in
 * front of node:http2 are all there, and HAProxy itself accepts the file (when it is
 * installed; `npm run start:replicas` installs it).
 */
import {spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {renderHaproxyConfig} from '../../../deploy/haproxy/haproxy_config.js';

const config = renderHaproxyConfig({
  host: '127.0.0.1',
  statsPort: 8404,
  statsSocket: '/tmp/agora-test-admin.sock',
  services: [
    {
      name: 'order',
      frontendPort: 50051,
      httpFrontendPort: 51051,
      servers: [
        {name: 'order-1', grpcPort: 25101, httpPort: 26101},
        {name: 'order-2', grpcPort: 25102, httpPort: 26102},
      ],
    },
    {
      name: 'payment',
      frontendPort: 50052,
      httpFrontendPort: 51052,
      servers: [{name: 'payment-1', grpcPort: 25201, httpPort: 26201}],
    },
  ],
});

describe('renderHaproxyConfig()', () => {
  it('serves gRPC over h2c on the standard port and checks each replica over HTTP/1.1', () => {
    expect(config).toContain('bind 127.0.0.1:50051 proto h2');
    expect(config).toContain(
      'server order-2 127.0.0.1:25102 proto h2 check check-proto h1 port 26102 inter 250 fall 1 rise 2',
    );
    expect(config).toContain('option httpchk GET /healthz');
    expect(config).toMatch(/balance roundrobin/);
    expect(config).toMatch(/option redispatch/);
    expect(config).toMatch(/timeout server 1h/);
  });

  it('balances the HTTP/1.1 edge on the same checks', () => {
    expect(config).toContain('bind 127.0.0.1:51052\n');
    expect(config).toContain(
      'server payment-1 127.0.0.1:26201 track payment/payment-1',
    );
  });

  const haproxy = spawnSync('haproxy', ['-v']).status === 0;
  (haproxy ? it : it.skip)('is accepted by haproxy -c', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-haproxy-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, config);
      const result = spawnSync('haproxy', ['-c', '-f', file], {
        encoding: 'utf8',
      });
      expect(result.stderr + result.stdout).not.toMatch(/ALERT|WARNING/);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });
});

describe('renderHaproxyConfig() with mutual TLS', () => {
  const services = [
    {
      name: 'order',
      frontendPort: 50051,
      httpFrontendPort: 51051,
      servers: [
        {name: 'order-1', grpcPort: 25101, httpPort: 26101},
        {name: 'order-2', grpcPort: 25102, httpPort: 26102},
      ],
    },
  ];
  const base = {
    host: '127.0.0.1',
    statsPort: 8404,
    statsSocket: '/tmp/agora-test-admin.sock',
    services,
  };
  const h2c = renderHaproxyConfig(base);
  const tls = renderHaproxyConfig({...base, mutualTls: true});
  /** The lines of the section that starts with `header`, up to the next blank line. */
  const section = (text: string, header: string) => {
    const at = text.indexOf(`\n${header}\n`);
    if (at < 0) throw new Error(`no "${header}" section`);
    return text.slice(at + 1).split('\n\n')[0];
  };

  it('passes gRPC through as TCP to each replica, checked on its HTTP/1.1 port', () => {
    expect(section(tls, 'frontend order_in')).toBe(
      [
        'frontend order_in',
        '  mode tcp',
        '  option tcplog',
        '  bind 127.0.0.1:50051',
        '  default_backend order',
      ].join('\n'),
    );
    expect(section(tls, 'backend order')).toBe(
      [
        'backend order',
        '  mode tcp',
        '  balance roundrobin',
        '  option httpchk GET /healthz',
        '  http-check expect status 200',
        '  server order-1 127.0.0.1:25101 check port 26101 inter 250 fall 1 rise 2',
        '  server order-2 127.0.0.1:25102 check port 26102 inter 250 fall 1 rise 2',
      ].join('\n'),
    );
    // HAProxy neither speaks h2 to the replicas nor touches the TLS.
    expect(tls).not.toMatch(/proto h2|\bssl\b|\bcrt\b/);
  });

  it('leaves the HTTP/1.1 edge, the stats page and the defaults as without TLS', () => {
    for (const header of [
      'frontend order_http_in',
      'backend order_http',
      'frontend stats',
      'defaults',
      'global',
    ]) {
      expect(section(tls, header)).toBe(section(h2c, header));
    }
  });

  const haproxy = spawnSync('haproxy', ['-v']).status === 0;
  (haproxy ? it : it.skip)('is accepted by haproxy -c', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-haproxy-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, tls);
      const result = spawnSync('haproxy', ['-c', '-f', file], {
        encoding: 'utf8',
      });
      expect(result.stderr + result.stdout).not.toMatch(/ALERT|WARNING/);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });
});
