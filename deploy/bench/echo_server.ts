/**
 * The transport's own limit, measured in the same run: a trivial grpc-js server (the
 * standard health Check, with reflection so ghz needs no schema) driven by the same ghz
 * settings as the real scenarios. Run as its own process so its CPU can be read.
 */
import * as grpc from '@grpc/grpc-js';
import {HealthImplementation} from 'grpc-health-check';
import {Health} from '../../gen/grpc/health/v1/health_pb.js';
import {addReflection} from '../../services/common/rpc/reflection.js';

const server = new grpc.Server();
new HealthImplementation({'': 'SERVING'}).addToServer(server);
addReflection(server, [Health]);
server.bindAsync(
  '127.0.0.1:0',
  grpc.ServerCredentials.createInsecure(),
  (err, port) => {
    if (err) throw err;
    console.log(JSON.stringify({msg: 'serving', grpc: `127.0.0.1:${port}`}));
  },
);
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
