/**
 * gRPC server reflection (v1 and v1alpha) for protobuf-es services, so grpcurl, ghz and
 * `buf curl` work against a running service without a copy of the schema.
 */
import {toBinary, type DescFile, type DescService} from '@bufbuild/protobuf';
import {FileDescriptorProtoSchema} from '@bufbuild/protobuf/wkt';
import {ReflectionService} from '@grpc/reflection';
import type * as grpc from '@grpc/grpc-js';

function collectFiles(file: DescFile, seen: Map<string, DescFile>): void {
  if (seen.has(file.name)) return;
  for (const dep of file.dependencies) collectFiles(dep, seen);
  seen.set(file.name, file);
}

/** Adds reflection for `services` (and every file they depend on) to `server`. */
export function addReflection(
  server: grpc.Server,
  services: DescService[],
): void {
  // @grpc/reflection reads a proto-loader package definition; it only needs the
  // serialized file descriptors of each service's file and its dependencies.
  const definition: Record<string, {fileDescriptorProtos: Uint8Array[]}> = {};
  for (const service of services) {
    const files = new Map<string, DescFile>();
    collectFiles(service.file, files);
    definition[service.typeName] = {
      fileDescriptorProtos: [...files.values()].map(f =>
        toBinary(FileDescriptorProtoSchema, f.proto),
      ),
    };
  }
  new ReflectionService(definition as never).addToServer(server);
}
