/**
 * `pulumi import` and the `import` resource option: the engine reads the object by id alone, with no
 * properties (a ReadRequest whose `properties` is unset), as the real providers support (azuread:
 * "/applications/<object id>"; azure-native: the ARM resource id). The generic provider server in
 * @pulumi/pulumi (provider/server.js) calls `getProperties().toJavaScript()` unconditionally and fails
 * on such a request. Before the server starts, `installImportReadSupport` wraps the SDK's Read handler
 * (sdk-server.ts), so that a Read without properties gets an empty Struct, then runs
 * unchanged; each resource's read then works from the id, as for a refresh.
 */
import { sdkGrpcModule, sdkModule, wrapServerHandlers } from "./sdk-server";

const importMarker = Symbol.for("dataverse-s2s.stand-in.importRead");

interface ReadRequestLike {
  getProperties(): unknown;
  setProperties(value: unknown): void;
}

/** An empty google.protobuf.Struct of the protobuf module instance the SDK loads. */
function emptyStruct(): unknown {
  const struct = sdkModule<{ Struct: new () => unknown }>("google-protobuf/google/protobuf/struct_pb");
  return new struct.Struct();
}

/** Gives a Read request without properties (an import) an empty set of them. Exported for tests. */
export function withImportProperties(request: ReadRequestLike): void {
  if (request.getProperties() === undefined) request.setProperties(emptyStruct());
}

export function installImportReadSupport(grpc: typeof import("@grpc/grpc-js") = sdkGrpcModule()): void {
  wrapServerHandlers(grpc, importMarker, {
    read: (read) =>
      function (this: unknown, call, callback) {
        withImportProperties((call as { request: ReadRequestLike }).request);
        return read.call(this, call, callback);
      },
  });
}
