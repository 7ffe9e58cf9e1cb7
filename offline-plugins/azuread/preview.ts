/**
 * Previews of updates as the real (Terraform-bridged) provider answers them.
 *
 * The engine asks a provider to preview an update only if its Configure answered `supportsPreview`;
 * otherwise it takes the new inputs as the outputs (sdk/go/common/resource/plugin/provider_plugin.go,
 * `Update`), so every output that is not an input, the Application's `clientId` among them, is
 * unknown in the preview, and whatever depends on it previews as replaced although `up` keeps it.
 * The generic provider server in @pulumi/pulumi (provider/server.js) answers Configure without
 * `supportsPreview` and runs `update` and `create` for real, whatever the request's `preview` says.
 *
 * The bridged provider previews an update with its planned state: the prior state with the
 * configuration's values, so outputs an update cannot change stay known, changed inputs take their
 * new (possibly unknown) values. `installProviderPreview` wraps `addService` of the SDK's
 * @grpc/grpc-js Server (as config.ts and import-read.ts do) so that:
 * - Configure answers `supportsPreview: true`;
 * - an Update with `preview` answers `previewUpdateOutputs` without calling Graph;
 * - a Create with `preview` answers its inputs as the outputs, without calling Graph, which is what
 *   the engine itself answered before (`CreateResponse{Properties: req.Properties}`).
 */
import * as path from "path";
import { sdkGrpcModule } from "./config";
import { Plain } from "./values";

const previewMarker = Symbol.for("dataverse-s2s.azuread.providerPreview");

interface StructLike {
  toJavaScript(): Plain;
}
interface UpdateRequestLike {
  getPreview(): boolean;
  getOlds(): StructLike | undefined;
  getNews(): StructLike | undefined;
  getOldInputs(): StructLike | undefined;
}
interface CreateRequestLike {
  getPreview(): boolean;
  getProperties(): unknown;
}
type Callback = (error: unknown, response?: unknown) => void;

/** The protobuf modules of the SDK's provider server (the same instances it answers with). */
function sdkProto(): {
  provproto: Record<string, new () => Record<string, (value: unknown) => void>>;
  struct: { Struct: { fromJavaScript(value: Plain): unknown } };
} {
  const serverModule = require.resolve("@pulumi/pulumi/provider/server");
  const from = { paths: [path.dirname(serverModule)] };
  return {
    provproto: require(require.resolve("@pulumi/pulumi/proto/provider_pb", from)),
    struct: require(require.resolve("google-protobuf/google/protobuf/struct_pb", from)),
  };
}

/**
 * The outputs of a previewed update: the prior outputs, each input of the new configuration with its
 * new value (unknowns stay unknown), and an input the old configuration had and the new one drops
 * left out (unknown to the engine in a preview), since the update may clear it.
 */
export function previewUpdateOutputs(olds: Plain, news: Plain, oldInputs: Plain = {}): Plain {
  const outputs: Plain = { ...olds, ...news };
  for (const key of Object.keys(oldInputs)) if (!(key in news)) delete outputs[key];
  return outputs;
}

export function installProviderPreview(grpc: typeof import("@grpc/grpc-js") = sdkGrpcModule()): void {
  const prototype = grpc.Server.prototype as unknown as Record<string | symbol, unknown>;
  if (prototype[previewMarker]) return;
  const addService = prototype.addService as (this: unknown, service: object, implementation: object) => void;
  prototype.addService = function (this: unknown, service: object, implementation: Record<string, unknown>) {
    const { configure, update, create } = implementation ?? {};
    if (typeof configure !== "function" || typeof update !== "function" || typeof create !== "function")
      return addService.call(this, service, implementation);
    const wrapped = Object.create(implementation, {
      configure: {
        value(this: unknown, call: unknown, callback: Callback) {
          return (configure as (...args: unknown[]) => unknown).call(this, call, (error: unknown, response?: unknown) => {
            (response as { setSupportspreview?: (value: boolean) => void } | undefined)?.setSupportspreview?.(true);
            callback(error, response);
          });
        },
      },
      update: {
        value(this: unknown, call: { request: UpdateRequestLike }, callback: Callback) {
          if (!call.request.getPreview()) {
            (update as (...args: unknown[]) => unknown).call(this, call, callback);
            return;
          }
          try {
            const { provproto, struct } = sdkProto();
            const outputs = previewUpdateOutputs(
              call.request.getOlds()?.toJavaScript() ?? {},
              call.request.getNews()?.toJavaScript() ?? {},
              call.request.getOldInputs()?.toJavaScript() ?? {},
            );
            const response = new provproto.UpdateResponse();
            response.setProperties(struct.Struct.fromJavaScript(outputs));
            callback(null, response);
          } catch (error) {
            callback(error);
          }
        },
      },
      create: {
        value(this: unknown, call: { request: CreateRequestLike }, callback: Callback) {
          if (!call.request.getPreview()) {
            (create as (...args: unknown[]) => unknown).call(this, call, callback);
            return;
          }
          const { provproto } = sdkProto();
          const response = new provproto.CreateResponse();
          response.setId("");
          response.setProperties(call.request.getProperties());
          callback(null, response);
        },
      },
    });
    return addService.call(this, service, wrapped);
  };
  prototype[previewMarker] = true;
}
