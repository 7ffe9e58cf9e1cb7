/**
 * The one way the stand-ins change how @pulumi/pulumi's generic provider server (provider/server.js)
 * answers: before the server starts, `wrapServerHandlers` wraps `addService` of the @grpc/grpc-js
 * Server that the SDK loads, so that chosen gRPC handlers of the provider service run through our
 * code (Configure capture in configure.ts, reads by id alone in import-read.ts, each stand-in's previews
 * in its preview.ts).
 * The SDK's own handler object is left as it is: a derived object carries the wrapped handlers.
 */
import * as path from "path";

/** A module as @pulumi/pulumi's provider server loads it (the same instance, so its classes match). */
export function sdkModule<T = unknown>(id: string): T {
  const serverModule = require.resolve("@pulumi/pulumi/provider/server");
  return require(require.resolve(id, { paths: [path.dirname(serverModule)] }));
}

/** The @grpc/grpc-js module instance that @pulumi/pulumi's provider server loads. */
export function sdkGrpcModule(): typeof import("@grpc/grpc-js") {
  return sdkModule("@grpc/grpc-js");
}

export type GrpcCallback = (error: unknown, response?: unknown) => void;
/** A gRPC handler of the provider service, as the SDK's server registers it. */
export type GrpcHandler = (this: unknown, call: { request: never }, callback: GrpcCallback) => unknown;

/**
 * Wraps `addService` once per marker: a service that has every named handler gets each replaced by
 * `wrappers[name](original)`; any other service is added as it is.
 */
export function wrapServerHandlers(
  grpc: typeof import("@grpc/grpc-js"),
  marker: symbol,
  wrappers: Record<string, (original: GrpcHandler) => GrpcHandler>,
): void {
  const prototype = grpc.Server.prototype as unknown as Record<string | symbol, unknown>;
  if (prototype[marker]) return;
  const addService = prototype.addService as (this: unknown, service: object, implementation: object) => void;
  prototype.addService = function (this: unknown, service: object, implementation: Record<string, unknown>) {
    const names = Object.keys(wrappers);
    if (names.some((name) => typeof implementation?.[name] !== "function")) return addService.call(this, service, implementation);
    const wrapped = Object.create(
      implementation,
      Object.fromEntries(names.map((name) => [name, { value: wrappers[name](implementation[name] as GrpcHandler) }])),
    );
    return addService.call(this, service, wrapped);
  };
  prototype[marker] = true;
}
