/**
 * grpc.health.v1.Health, open to every caller (load balancers and probes carry no
 * token), so bounded: a service name longer than any real one is INVALID_ARGUMENT and is
 * never echoed back, and Watch streams are capped per process. grpc-health-check's own
 * implementation echoes the name (1 MB in, 1 MB out) and accepts any number of watchers.
 */
import * as grpc from '@grpc/grpc-js';
import {service as healthService} from 'grpc-health-check';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

const MAX_NAME = 200;
const MAX_WATCHERS = 100;

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<{
    name: string;
    write(status: string): void;
  }>();

  constructor(names: string[]) {
    for (const name of names) this.statuses.set(name, 'NOT_SERVING');
  }

  setStatus(status: ServingStatus): void {
    for (const name of this.statuses.keys()) this.statuses.set(name, status);
    for (const w of this.watchers) {
      w.write(this.statuses.get(w.name) ?? 'SERVICE_UNKNOWN');
    }
  }

  addToServer(server: grpc.Server): void {
    server.addService(healthService, {
      check: (
        call: grpc.ServerUnaryCall<{service: string}, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const name = call.request.service;
        if (name.length > MAX_NAME) {
          callback({
            code: grpc.status.INVALID_ARGUMENT,
            details: `service: at most ${MAX_NAME} characters`,
          });
          return;
        }
        const status = this.statuses.get(name);
        if (status) callback(null, {status});
        else
          callback({
            code: grpc.status.NOT_FOUND,
            details: 'no health status for that service name',
          });
      },
      watch: (call: grpc.ServerWritableStream<{service: string}, unknown>) => {
        const name = call.request.service;
        if (name.length > MAX_NAME || this.watchers.size >= MAX_WATCHERS) {
          call.emit('error', {
            code:
              name.length > MAX_NAME
                ? grpc.status.INVALID_ARGUMENT
                : grpc.status.RESOURCE_EXHAUSTED,
            details:
              name.length > MAX_NAME
                ? `service: at most ${MAX_NAME} characters`
                : `at most ${MAX_WATCHERS} health watchers per process`,
          });
          return;
        }
        const watcher = {
          name,
          write: (status: string) => call.write({status}),
        };
        this.watchers.add(watcher);
        call.on('cancelled', () => this.watchers.delete(watcher));
        call.on('close', () => this.watchers.delete(watcher));
        watcher.write(this.statuses.get(name) ?? 'SERVICE_UNKNOWN');
      },
      list: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        const statuses: Record<string, {status: string}> = {};
        for (const [name, status] of this.statuses) statuses[name] = {status};
        callback(null, {statuses});
      },
    });
  }
}
