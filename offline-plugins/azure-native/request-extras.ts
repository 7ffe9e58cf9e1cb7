/**
 * What the engine sends that @pulumi/pulumi's provider server (provider/server.js) drops before it
 * calls the Provider object, and azure-native v3 needs (provider/pkg/provider/provider.go):
 * - Configure: v3 refuses an engine that does not send old inputs (`Azure Native provider requires
 *   Pulumi CLI v3.74.0 or later`), and answers `supportsPreview`;
 * - Check's `randomSeed` (auto-naming); Diff's, Update's and Delete's `oldInputs` and Read's `inputs`
 *   (v3 keeps no `__inputs` in state: it diffs and reads against the inputs the engine sends);
 * - Create's and Update's `preview` (a previewed write calls no ARM).
 * The SDK's handlers are wrapped (../shared/sdk-server.ts) to run inside an AsyncLocalStorage scope
 * that carries these; the Provider object reads them with `requestExtras()`.
 */
import { AsyncLocalStorage } from "async_hooks";
import { sdkGrpcModule, wrapServerHandlers } from "../shared/sdk-server";
import { Plain } from "../shared/values";

export interface RequestExtras {
  readonly randomSeed?: Uint8Array;
  readonly oldInputs?: Plain;
  readonly preview?: boolean;
}

const storage = new AsyncLocalStorage<RequestExtras>();

export function requestExtras(): RequestExtras {
  return storage.getStore() ?? {};
}

/** Runs `action` with the given extras (the gRPC wrappers; tests). */
export function withRequestExtras<T>(extras: RequestExtras, action: () => T): T {
  return storage.run(extras, action);
}

interface StructLike {
  toJavaScript(): Plain;
}
interface RequestLike {
  getRandomseed?(): Uint8Array | string;
  getOldInputs?(): StructLike | undefined;
  getInputs?(): StructLike | undefined;
  getPreview?(): boolean;
  getSendsOldInputs?(): boolean;
  getSendsOldInputsToDelete?(): boolean;
}

const marker = Symbol.for("dataverse-s2s.azure-native.requestExtras");

function seedOf(request: RequestLike): Uint8Array | undefined {
  const seed = request.getRandomseed?.();
  if (seed === undefined || seed.length === 0) return undefined;
  return typeof seed === "string" ? Buffer.from(seed, "base64") : seed;
}

export function installRequestExtras(grpc: typeof import("@grpc/grpc-js") = sdkGrpcModule()): void {
  const scoped =
    (extras: (request: RequestLike) => RequestExtras) =>
    (original: (this: unknown, call: { request: never }, callback: (error: unknown, response?: unknown) => void) => unknown) =>
      function (this: unknown, call: { request: never }, callback: (error: unknown, response?: unknown) => void) {
        return storage.run(extras(call.request as RequestLike), () => original.call(this, call, callback));
      };
  wrapServerHandlers(grpc, marker, {
    configure: (configure) =>
      function (this: unknown, call, callback) {
        const request = call.request as RequestLike;
        if (!request.getSendsOldInputs?.() || !request.getSendsOldInputsToDelete?.()) {
          callback(new Error("Azure Native provider requires Pulumi CLI v3.74.0 or later"));
          return;
        }
        return configure.call(this, call, (error: unknown, response?: unknown) => {
          (response as { setSupportspreview?: (value: boolean) => void } | undefined)?.setSupportspreview?.(true);
          callback(error, response);
        });
      },
    check: scoped((request) => ({ randomSeed: seedOf(request) })),
    diff: scoped((request) => ({ oldInputs: request.getOldInputs?.()?.toJavaScript() })),
    read: scoped((request) => ({ oldInputs: request.getInputs?.()?.toJavaScript() })),
    update: scoped((request) => ({ oldInputs: request.getOldInputs?.()?.toJavaScript(), preview: request.getPreview?.() })),
    delete: scoped((request) => ({ oldInputs: request.getOldInputs?.()?.toJavaScript() })),
    create: scoped((request) => ({ preview: request.getPreview?.() })),
  });
}
