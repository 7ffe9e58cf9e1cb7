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
 * new (possibly unknown) values. `installProviderPreview` wraps the SDK's Configure, Update
 * and Create handlers (sdk-server.ts, as config.ts and import-read.ts do) so that:
 * - Configure answers `supportsPreview: true`;
 * - an Update with `preview` answers `previewUpdateOutputs` without calling Graph;
 * - a Create with `preview` answers its inputs as the outputs, without calling Graph, which is what
 *   the engine itself answered before (`CreateResponse{Properties: req.Properties}`).
 */
import { GrpcCallback, sdkGrpcModule, sdkModule, wrapServerHandlers } from "../shared/sdk-server";
import { typeOfUrn } from "./provider";
import { applicationToken } from "./resources/application";
import { servicePrincipalToken } from "./resources/servicePrincipal";
import { asRecord, containsUnknown, Plain, unknownValue, unwrapSecrets } from "./values";

const previewMarker = Symbol.for("dataverse-s2s.azuread.providerPreview");

interface StructLike {
  toJavaScript(): Plain;
}
interface UpdateRequestLike {
  getPreview(): boolean;
  getUrn(): string | undefined;
  getOlds(): StructLike | undefined;
  getNews(): StructLike | undefined;
  getOldInputs(): StructLike | undefined;
}
interface CreateRequestLike {
  getPreview(): boolean;
  getProperties(): unknown;
}

/** The protobuf modules of the SDK's provider server (the same instances it answers with). */
function sdkProto(): {
  provproto: Record<string, new () => Record<string, (value: unknown) => void>>;
  struct: { Struct: { fromJavaScript(value: Plain): unknown } };
} {
  return {
    provproto: sdkModule("@pulumi/pulumi/proto/provider_pb"),
    struct: sdkModule("google-protobuf/google/protobuf/struct_pb"),
  };
}

/**
 * Optional and Computed inputs per type (the schemas of application_resource.go and
 * service_principal_resource.go, v3.8.0): dropped from the configuration, the planned state keeps
 * their prior value. Any other dropped input is planned as null (an empty list for a list).
 */
const optionalComputedInputs: Readonly<Record<string, readonly string[]>> = {
  [applicationToken]: ["tags", "featureTags", "templateId"],
  [servicePrincipalToken]: ["tags", "featureTags", "features"],
};

/**
 * The CustomizeDiff of application_resource.go (v3.8.0): when app_role, api.0.oauth2_permission_scope
 * or logo_image change, app_role_ids, oauth2_permission_scope_ids or logo_url are SetNewComputed
 * (unknown in the plan).
 */
const setNewComputed: Readonly<Record<string, readonly { readonly changed: (state: Plain) => unknown; readonly output: string }[]>> = {
  [applicationToken]: [
    { changed: (state) => state.appRoles, output: "appRoleIds" },
    { changed: (state) => asRecord(unwrapSecrets(state.api)).oauth2PermissionScopes, output: "oauth2PermissionScopeIds" },
    { changed: (state) => state.logoImage, output: "logoUrl" },
  ],
};

/** d.HasChange on a set or list of blocks: an unknown is a change; sets compare without order; unset equals empty. */
function hasChange(before: unknown, after: unknown): boolean {
  if (containsUnknown(after)) return true;
  const canonical = (value: unknown): string => {
    const plain = unwrapSecrets(value);
    if (plain === undefined || plain === null || plain === "" || (Array.isArray(plain) && plain.length === 0)) return "";
    if (Array.isArray(plain)) return JSON.stringify(plain.map((item) => JSON.stringify(item)).sort());
    return JSON.stringify(plain);
  };
  return canonical(before) !== canonical(after);
}

/**
 * The outputs of a previewed update, as the bridge plans them (pulumi-terraform-bridge over
 * terraform-plugin-sdk): the prior outputs; each input of the new configuration with its new value
 * (unknowns stay unknown); an input the old configuration had and the new one drops keeps its prior
 * value when it is Optional and Computed, else is planned as null (`[]` for a list); and the
 * outputs the resource's CustomizeDiff marks SetNewComputed are unknown when their source changes.
 */
export function previewUpdateOutputs(type: string, olds: Plain, news: Plain, oldInputs: Plain = {}): Plain {
  const outputs: Plain = { ...olds, ...news };
  const computed = optionalComputedInputs[type] ?? [];
  for (const key of Object.keys(oldInputs)) {
    if (key in news || computed.includes(key)) continue;
    outputs[key] = Array.isArray(unwrapSecrets(olds[key] ?? oldInputs[key])) ? [] : null;
  }
  for (const rule of setNewComputed[type] ?? []) {
    if (hasChange(rule.changed(olds), rule.changed(news))) outputs[rule.output] = unknownValue;
  }
  return outputs;
}

export function installProviderPreview(grpc: typeof import("@grpc/grpc-js") = sdkGrpcModule()): void {
  wrapServerHandlers(grpc, previewMarker, {
    configure: (configure) =>
      function (this: unknown, call, callback) {
        return configure.call(this, call, (error: unknown, response?: unknown) => {
          (response as { setSupportspreview?: (value: boolean) => void } | undefined)?.setSupportspreview?.(true);
          callback(error, response);
        });
      },
    update: (update) =>
      function (this: unknown, call, callback) {
        const request = (call as { request: UpdateRequestLike }).request;
        if (!request.getPreview()) {
          update.call(this, call, callback);
          return;
        }
        try {
          const { provproto, struct } = sdkProto();
          const outputs = previewUpdateOutputs(
            typeOfUrn(request.getUrn() ?? ""),
            request.getOlds()?.toJavaScript() ?? {},
            request.getNews()?.toJavaScript() ?? {},
            request.getOldInputs()?.toJavaScript() ?? {},
          );
          const response = new provproto.UpdateResponse();
          response.setProperties(struct.Struct.fromJavaScript(outputs));
          callback(null, response);
        } catch (error) {
          callback(error);
        }
      },
    create: (create) =>
      function (this: unknown, call, callback: GrpcCallback) {
        const request = (call as { request: CreateRequestLike }).request;
        if (!request.getPreview()) {
          create.call(this, call, callback);
          return;
        }
        const { provproto } = sdkProto();
        const response = new provproto.CreateResponse();
        response.setId("");
        response.setProperties(request.getProperties());
        callback(null, response);
      },
  });
}
