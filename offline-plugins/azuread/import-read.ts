/**
 * `pulumi import` and the `import` resource option: the engine reads the object by id alone, with no
 * properties (a ReadRequest whose `properties` is unset), as the real azuread provider supports
 * ("/applications/<object id>", "/servicePrincipals/<object id>"). The generic provider server in
 * @pulumi/pulumi (provider/server.js) calls `getProperties().toJavaScript()` unconditionally and fails
 * on such a request. Before the server starts, `installImportReadSupport` wraps `addService` of the
 * @grpc/grpc-js Server the SDK uses, so that a Read without properties gets an empty Struct, then runs
 * unchanged; each resource's read then works from the id, as for a refresh.
 */
import * as path from "path";
import { sdkGrpcModule } from "./config";

const importMarker = Symbol.for("dataverse-s2s.azuread.importRead");

interface ReadRequestLike {
  getProperties(): unknown;
  setProperties(value: unknown): void;
}

/** An empty google.protobuf.Struct of the protobuf module instance the SDK loads. */
function emptyStruct(): unknown {
  const serverModule = require.resolve("@pulumi/pulumi/provider/server");
  const struct = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [path.dirname(serverModule)] }));
  return new struct.Struct();
}

/** Gives a Read request without properties (an import) an empty set of them. Exported for tests. */
export function withImportProperties(request: ReadRequestLike): void {
  if (request.getProperties() === undefined) request.setProperties(emptyStruct());
}

export function installImportReadSupport(grpc: typeof import("@grpc/grpc-js") = sdkGrpcModule()): void {
  const prototype = grpc.Server.prototype as unknown as Record<string | symbol, unknown>;
  if (prototype[importMarker]) return;
  const addService = prototype.addService as (this: unknown, service: object, implementation: object) => void;
  prototype.addService = function (this: unknown, service: object, implementation: Record<string, unknown>) {
    const read = implementation?.read;
    if (typeof read !== "function") return addService.call(this, service, implementation);
    const wrapped = Object.create(implementation, {
      read: {
        value(this: unknown, call: { request: ReadRequestLike }, callback: unknown) {
          withImportProperties(call.request);
          return (read as (...args: unknown[]) => unknown).call(this, call, callback);
        },
      },
    });
    return addService.call(this, service, wrapped);
  };
  prototype[importMarker] = true;
}
