// Guards the parts of the offline azuread stand-in that need no Graph: the capture of the provider
// configuration that the SDK's provider server drops, check failures, and field-by-field diffs.
import * as grpc from "@grpc/grpc-js";
import { capturedConfig, installConfigureCapture, resetCapturedConfigure, resolveConfig } from "../../offline-plugins/azuread/config";
import { sdkGrpcModule } from "../../offline-plugins/shared/sdk-server";
import { installImportReadSupport } from "../../offline-plugins/shared/import-read";
import { installProviderPreview, previewUpdateOutputs } from "../../offline-plugins/azuread/preview";
import { createAzureadProvider, providerVersion, typeOfUrn } from "../../offline-plugins/azuread/provider";
import { goRfc3339, passwordCredentialBody } from "../../offline-plugins/azuread/resources/applicationPassword";
import { isApplicationUpdateRetried } from "../../offline-plugins/azuread/resources/application";
import { encodedKey } from "../../offline-plugins/azuread/resources/applicationCertificate";
import { RestApiError } from "../../lib/rest-client";
import { secretEnvelope, unknownValue } from "../../offline-plugins/azuread/values";

const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const urn = (type: string) => `urn:pulumi:dev::dataverse-s2s::${type}::example`;
const appType = "azuread:index/application:Application";
const passwordType = "azuread:index/applicationPassword:ApplicationPassword";
const spType = "azuread:index/servicePrincipal:ServicePrincipal";
const grantType = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant";
const guid = "11111111-2222-3333-4444-555555555555";

describe("reads by id alone (imports)", () => {
  test("a Read without properties reaches the handler with an empty set of them; one with properties is left as it is", async () => {
    installImportReadSupport(grpc);
    installImportReadSupport(grpc); // idempotent
    const server = new grpc.Server();
    const seen: unknown[] = [];
    server.addService(provrpc.ResourceProviderService, {
      read(call: { request: { getProperties(): { toJavaScript(): unknown } } }, callback: (error: null, response: unknown) => void) {
        // What the SDK's provider server does first, and fails on for an import without the wrapper.
        seen.push(call.request.getProperties().toJavaScript());
        callback(null, new provproto.ReadResponse());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const read = (request: unknown) =>
      new Promise<void>((resolve, reject) => client.read(request, (error: Error | null) => (error ? reject(error) : resolve())));
    try {
      const importRead = new provproto.ReadRequest();
      importRead.setId("/applications/00000000-0000-4000-8000-000000000001");
      await read(importRead);
      const refresh = new provproto.ReadRequest();
      refresh.setId("/applications/00000000-0000-4000-8000-000000000001");
      refresh.setProperties(Struct.fromJavaScript({ displayName: "ETL" }));
      await read(refresh);
    } finally {
      client.close();
      server.forceShutdown();
    }
    expect(seen).toEqual([{}, { displayName: "ETL" }]);
  });
});

// The bridged provider previews an update with its planned state (prior state plus configuration;
// pulumi-terraform-bridge over terraform-provider-azuread v3.8.0); the engine without supportsPreview
// would take the new inputs as outputs (pulumi sdk/go/common/resource/plugin/provider_plugin.go, Update).
describe("previews of updates (preview.ts)", () => {
  const unknown = unknownValue;

  test("prior outputs stay, changed inputs take their new values, unknowns stay unknown", () => {
    const olds = { id: "/applications/x", clientId: "c", displayName: "old", notes: "n", tags: ["a"], owners: [] };
    expect(
      previewUpdateOutputs(
        appType,
        olds,
        { displayName: "new", notes: "n", tags: unknown, owners: [] },
        { displayName: "old", notes: "n", tags: ["a"], owners: [] },
      ),
    ).toEqual({
      id: "/applications/x",
      clientId: "c",
      displayName: "new",
      notes: "n",
      tags: unknown,
      owners: [],
    });
  });

  // application_resource.go / service_principal_resource.go schemas: tags, feature_tags (and the
  // application's template_id, the principal's features) are Optional+Computed; notes, owners are Optional.
  test("a dropped Optional+Computed input keeps its prior value; a dropped Optional one is planned null (a list empty)", () => {
    const oldInputs = { displayName: "app", notes: "n", tags: ["a"], featureTags: [{ hide: true }], owners: ["o"] };
    const olds = { ...oldInputs, id: "/applications/x", clientId: "c" };
    expect(previewUpdateOutputs(appType, olds, { displayName: "app" }, oldInputs)).toEqual({
      id: "/applications/x",
      clientId: "c",
      displayName: "app",
      notes: null,
      tags: ["a"],
      featureTags: [{ hide: true }],
      owners: [],
    });
    const spInputs = { clientId: "c", notes: "n", tags: ["t"], features: [{ hide: true }] };
    expect(previewUpdateOutputs(spType, { ...spInputs, id: "/servicePrincipals/y" }, { clientId: "c" }, spInputs)).toEqual({
      id: "/servicePrincipals/y",
      clientId: "c",
      notes: null,
      tags: ["t"],
      features: [{ hide: true }],
    });
    // Another type has no Optional+Computed list here: its dropped inputs are planned null.
    expect(previewUpdateOutputs(grantType, { claimValues: ["a"], id: "g" }, {}, { claimValues: ["a"] })).toEqual({
      id: "g",
      claimValues: [],
    });
  });

  // application_resource.go (applicationResourceCustomizeDiff): SetNewComputed of app_role_ids,
  // oauth2_permission_scope_ids and logo_url when app_role, api.0.oauth2_permission_scope, logo_image change.
  test("app role, permission scope and logo changes make their computed outputs unknown; no change keeps them", () => {
    const role = { id: guid, value: "r", displayName: "R", description: "d", allowedMemberTypes: ["User"], enabled: true };
    const scope = { id: guid, value: "s", adminConsentDescription: "a", adminConsentDisplayName: "A", enabled: true };
    const inputs = { displayName: "app", appRoles: [role], api: { oauth2PermissionScopes: [scope] }, logoImage: "aGk=" };
    const olds = { ...inputs, appRoleIds: { r: guid }, oauth2PermissionScopeIds: { s: guid }, logoUrl: "https://cdn/logo" };
    expect(previewUpdateOutputs(appType, olds, { ...inputs, displayName: "renamed" }, inputs)).toMatchObject({
      appRoleIds: { r: guid },
      oauth2PermissionScopeIds: { s: guid },
      logoUrl: "https://cdn/logo",
    });
    const changed = previewUpdateOutputs(
      appType,
      olds,
      { displayName: "app", appRoles: [{ ...role, value: "r2" }], api: { oauth2PermissionScopes: unknown }, logoImage: "aG8=" },
      inputs,
    );
    expect(changed).toMatchObject({ appRoleIds: unknown, oauth2PermissionScopeIds: unknown, logoUrl: unknown });
    // A ServicePrincipal has no such rule.
    expect(previewUpdateOutputs(spType, { appRoleIds: { r: guid } }, { appRoles: [] }, {})).toMatchObject({ appRoleIds: { r: guid } });
  });

  test("the wrapper answers previews itself and passes everything else to the SDK's handlers", async () => {
    installProviderPreview(grpc);
    installProviderPreview(grpc); // idempotent
    const server = new grpc.Server();
    const handled: string[] = [];
    server.addService(provrpc.ResourceProviderService, {
      configure(_call: unknown, callback: (error: null, response: unknown) => void) {
        handled.push("configure");
        callback(null, new provproto.ConfigureResponse());
      },
      update(_call: unknown, callback: (error: null, response: unknown) => void) {
        handled.push("update");
        const response = new provproto.UpdateResponse();
        response.setProperties(Struct.fromJavaScript({ real: true }));
        callback(null, response);
      },
      create(_call: unknown, callback: (error: null, response: unknown) => void) {
        handled.push("create");
        const response = new provproto.CreateResponse();
        response.setId("made");
        callback(null, response);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = <T>(method: string, request: unknown) =>
      new Promise<T>((resolve, reject) =>
        client[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))),
      );
    try {
      expect((await call<any>("configure", new provproto.ConfigureRequest())).getSupportspreview()).toBe(true);
      const update = (preview: boolean) => {
        const request = new provproto.UpdateRequest();
        request.setPreview(preview);
        request.setOlds(Struct.fromJavaScript({ clientId: "c", displayName: "old" }));
        request.setNews(Struct.fromJavaScript({ displayName: "new" }));
        return call<any>("update", request);
      };
      expect((await update(true)).getProperties().toJavaScript()).toEqual({ clientId: "c", displayName: "new" });
      expect((await update(false)).getProperties().toJavaScript()).toEqual({ real: true });
      const create = (preview: boolean) => {
        const request = new provproto.CreateRequest();
        request.setPreview(preview);
        request.setProperties(Struct.fromJavaScript({ displayName: "x" }));
        return call<any>("create", request);
      };
      const previewed = await create(true);
      expect({ id: previewed.getId(), outs: previewed.getProperties().toJavaScript() }).toEqual({ id: "", outs: { displayName: "x" } });
      expect((await create(false)).getId()).toBe("made");
    } finally {
      client.close();
      server.forceShutdown();
    }
    expect(handled).toEqual(["configure", "update", "create"]);
  });
});

describe("configure capture", () => {
  afterEach(() => resetCapturedConfigure());

  test("uses the same @grpc/grpc-js instance as the SDK's provider server", () => {
    expect(sdkGrpcModule().Server).toBe(grpc.Server);
  });

  test("records Configure's variables and args and still runs the SDK's handler", async () => {
    installConfigureCapture(grpc);
    installConfigureCapture(grpc); // idempotent
    const server = new grpc.Server();
    let handled = 0;
    server.addService(provrpc.ResourceProviderService, {
      configure(_call: unknown, callback: (error: null, response: unknown) => void) {
        handled++;
        callback(null, new provproto.ConfigureResponse());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const request = new provproto.ConfigureRequest();
      request.getVariablesMap().set("azuread:config:metadataHost", "127.0.0.1:9443");
      request.getVariablesMap().set("azuread:config:clientId", "from-variables");
      request.setArgs(Struct.fromJavaScript({ clientId: "from-args", clientSecret: secretEnvelope("s3cret"), version: "6.9.1" }));
      await new Promise<void>((resolve, reject) => client.configure(request, (error: Error | null) => (error ? reject(error) : resolve())));
    } finally {
      client.close();
      server.forceShutdown();
    }
    expect(handled).toBe(1);
    expect(capturedConfig({ ARM_TENANT_ID: "tenant-from-env", ARM_CLIENT_ID: "from-env" })).toEqual({
      metadataHost: "127.0.0.1:9443",
      clientId: "from-variables",
      clientSecret: "s3cret",
      tenantId: "tenant-from-env",
    });
  });

  test("falls back to the ARM_* variables and ignores empty values", () => {
    expect(
      resolveConfig({ "azuread:config:tenantId": " " }, {}, { ARM_TENANT_ID: "t", ARM_METADATA_HOSTNAME: "h:1", ARM_CLIENT_SECRET: "x" }),
    ).toEqual({
      tenantId: "t",
      metadataHost: "h:1",
      clientSecret: "x",
    });
  });
});

describe("provider without Graph", () => {
  const provider = createAzureadProvider({ config: () => ({}) });

  test("answers for the SDK's version and reads type tokens from URNs", () => {
    expect(provider.version).toBe(require("@pulumi/azuread/package.json").version);
    expect(providerVersion).toBe("6.9.1");
    expect(typeOfUrn(`urn:pulumi:dev::p::my:component:Thing$${appType}::x`)).toBe(appType);
  });

  test("check explains bad input", async () => {
    const app = await provider.check!(
      urn(appType),
      {},
      {
        displayName: "",
        signInAudience: "Everyone",
        requiredResourceAccesses: [{ resourceAppId: "crm", resourceAccesses: [{ id: guid, type: "Delegated" }] }],
      },
    );
    expect(app.failures!.map((f) => f.property).sort()).toEqual([
      "displayName",
      "requiredResourceAccesses[0].resourceAccesses[0].type",
      "requiredResourceAccesses[0].resourceAppId",
      "signInAudience",
    ]);
    const password = await provider.check!(urn(passwordType), {}, { applicationId: guid, endDate: "next year" });
    expect(password.failures!.map((f) => f.property).sort()).toEqual(["applicationId", "endDate"]);
    const grant = await provider.check!(
      urn(grantType),
      {},
      { servicePrincipalObjectId: guid, resourceServicePrincipalObjectId: guid, claimValues: [] },
    );
    expect(grant.failures!.map((f) => f.property)).toEqual(["claimValues"]);
  });

  test("check defaults signInAudience and lets unknowns through", async () => {
    const result = await provider.check!(urn(appType), {}, { displayName: unknownValue });
    expect(result.failures).toEqual([]);
    expect(result.inputs.signInAudience).toBe("AzureADMyOrg");
    const password = await provider.check!(urn(passwordType), {}, { applicationId: unknownValue });
    expect(password.failures).toEqual([]);
  });

  test("diff: application edits are updates, order of permissions does not matter", async () => {
    const olds = {
      displayName: "a",
      signInAudience: "AzureADMyOrg",
      description: "",
      notes: "",
      tags: [],
      owners: [],
      requiredResourceAccesses: [
        {
          resourceAppId: guid,
          resourceAccesses: [
            { id: "a", type: "Scope" },
            { id: "b", type: "Role" },
          ],
        },
      ],
      objectId: guid,
      clientId: guid,
      appRoleIds: {},
    };
    const same = {
      displayName: "a",
      signInAudience: "AzureADMyOrg",
      requiredResourceAccesses: [
        {
          resourceAppId: guid,
          resourceAccesses: [
            { id: "b", type: "Role" },
            { id: "a", type: "Scope" },
          ],
        },
      ],
    };
    expect(await provider.diff!(`/applications/${guid}`, urn(appType), olds, same)).toEqual({ changes: false, replaces: [] });
    expect(await provider.diff!(`/applications/${guid}`, urn(appType), olds, { ...same, displayName: "b" })).toEqual({
      changes: true,
      replaces: [],
    });
    expect(await provider.diff!(`/applications/${guid}`, urn(appType), olds, { ...same, requiredResourceAccesses: [] })).toEqual({
      changes: true,
      replaces: [],
    });
  });

  test("diff: every password input forces a replacement; computed dates left out do not; dates compare as strings", async () => {
    const olds = {
      applicationId: `/applications/${guid}`,
      displayName: "ci",
      startDate: "2026-01-01T00:00:00Z",
      endDate: "2027-01-01T00:00:00Z",
      keyId: guid,
      value: secretEnvelope("x"),
    };
    expect(await provider.diff!("x", urn(passwordType), olds, { applicationId: `/applications/${guid}`, displayName: "ci" })).toEqual({
      changes: false,
      replaces: [],
    });
    expect(
      await provider.diff!("x", urn(passwordType), olds, {
        applicationId: `/applications/${guid}`,
        displayName: "ci",
        endDate: "2027-01-01T00:00:00.000Z",
      }),
    ).toEqual({ changes: true, replaces: ["endDate"] });
    expect(
      await provider.diff!("x", urn(passwordType), olds, {
        applicationId: `/applications/${guid}`,
        displayName: "ci",
        endDate: "2028-01-01T00:00:00Z",
      }),
    ).toEqual({ changes: true, replaces: ["endDate"] });
    expect(await provider.diff!("x", urn(passwordType), olds, { applicationId: unknownValue, rotateWhenChanged: { r: "1" } })).toEqual({
      changes: true,
      replaces: ["applicationId", "rotateWhenChanged"],
    });
  });

  test("diff: service principal clientId and grant principals are replacements, claim values updates", async () => {
    expect(
      await provider.diff!("x", urn(spType), { clientId: guid, owners: [] }, { clientId: "99999999-2222-3333-4444-555555555555" }),
    ).toEqual({ changes: true, replaces: ["clientId"] });
    const grant = { servicePrincipalObjectId: guid, resourceServicePrincipalObjectId: guid, claimValues: ["user_impersonation"] };
    expect(await provider.diff!("x", urn(grantType), grant, { ...grant, claimValues: ["user_impersonation", "x"] })).toEqual({
      changes: true,
      replaces: [],
    });
    expect(await provider.diff!("x", urn(grantType), grant, { ...grant, userObjectId: guid })).toEqual({
      changes: true,
      replaces: ["userObjectId"],
    });
  });

  test("unsupported types fail with a message that names the real plugin", async () => {
    await expect(provider.check!(urn("azuread:index/group:Group"), {}, {})).rejects.toThrow(
      /does not implement azuread:index\/group:Group/,
    );
    await expect(provider.invoke!("azuread:index/getClientConfig:getClientConfig", {})).rejects.toThrow(/does not implement the function/);
  });

  test("dates are sent as Go's time.RFC3339 formats them", () => {
    expect(goRfc3339("2026-05-01T10:00:00.1234567Z")).toBe("2026-05-01T10:00:00Z");
    expect(goRfc3339("2026-05-01T10:00:00Z")).toBe("2026-05-01T10:00:00Z");
    expect(goRfc3339("2026-05-01T10:00:00+00:00")).toBe("2026-05-01T10:00:00Z");
    expect(goRfc3339("2026-05-01T12:00:00.5+02:00")).toBe("2026-05-01T12:00:00+02:00");
    expect(goRfc3339("2026-05-01")).toBeUndefined();
    expect(goRfc3339("2026-05-01 10:00:00Z")).toBeUndefined();
  });

  test("addPassword sends only what the program set, and never endDateRelative (as v3.8.0)", () => {
    expect(passwordCredentialBody({ displayName: "ci", startDate: "2026-05-01T10:00:00.000Z", endDate: "2027-05-01T10:00:00Z" })).toEqual({
      displayName: "ci",
      startDateTime: "2026-05-01T10:00:00Z",
      endDateTime: "2027-05-01T10:00:00Z",
    });
    expect(passwordCredentialBody({ endDateRelative: "8760h" })).toEqual({});
  });
});

// internal/services/applications/applications.go (applicationUpdateRetryFunc) and go-azure-sdk
// sdk/odata/errors.go (Error.Match compiles its text as a regular expression).
describe("application PATCH retries after create (applicationUpdateRetryFunc)", () => {
  const failure = (status: number, serviceMessage: string) =>
    new RestApiError({
      service: "Microsoft Graph",
      host: "graph",
      operation: "patch",
      method: "PATCH",
      path: "/v1.0/applications/x",
      status,
      code: "Request_BadRequest",
      serviceMessage,
      attempts: 1,
    });

  test("404 and 409 are retried; Graph's 400 with the literal '(scope or role)' is not (the parentheses are a regexp group)", () => {
    expect(isApplicationUpdateRetried(failure(404, "not found"))).toBe(true);
    expect(isApplicationUpdateRetried(failure(409, "conflict"))).toBe(true);
    expect(isApplicationUpdateRetried(failure(400, "Permission (scope or role) cannot be deleted or updated unless disabled first."))).toBe(
      false,
    );
    // What the expression does match: the same text without the parentheses.
    expect(isApplicationUpdateRetried(failure(400, "Permission scope or role cannot be deleted or updated unless disabled first"))).toBe(
      true,
    );
    expect(isApplicationUpdateRetried(failure(400, "anything else"))).toBe(false);
  });
});

// internal/helpers/credentials/credentials.go (KeyCredentialForResource): base64.StdEncoding.DecodeString
// and hex.Decode refuse what Node's Buffer.from would quietly accept.
describe("certificate value decoding (KeyCredentialForResource)", () => {
  const der = Buffer.from([0x30, 0x82, 0x01, 0xfe, 0xff]);
  const pemOf = (bytes: Buffer) =>
    Buffer.from(`-----BEGIN CERTIFICATE-----\n${bytes.toString("base64")}\n-----END CERTIFICATE-----\n`).toString("base64");

  test("valid base64 (newlines ignored, spaces around trimmed) and hex of either case become PEM", () => {
    expect(encodedKey(` ${der.toString("base64")}\n`, "base64")).toBe(pemOf(der));
    expect(encodedKey("MIIB\r\n/v8=", "base64")).toBe(pemOf(der));
    expect(encodedKey("308201FEff", "hex")).toBe(pemOf(der));
  });

  test("base64 that Go refuses fails with its message", () => {
    for (const bad of ["MIIB/v8", "MIIB /v8=", "MIIB_v8=", "MIIB-v8=", "MIIB/v8=x", "MI=B/v8=", "M==="]) {
      expect(() => encodedKey(bad, "base64")).toThrow(/^failed to decode base64 certificate data$/);
    }
  });

  test("hex that Go refuses fails with hex.Decode's message", () => {
    expect(() => encodedKey("3082zz", "hex")).toThrow(
      "failed to decode hexadecimal certificate data: encoding/hex: invalid byte: U+007A 'z'",
    );
    expect(() => encodedKey("30820", "hex")).toThrow("failed to decode hexadecimal certificate data: encoding/hex: odd length hex string");
    expect(() => encodedKey("3082g", "hex")).toThrow("encoding/hex: invalid byte: U+0067 'g'");
    expect(() => encodedKey("30 82", "hex")).toThrow("encoding/hex: invalid byte: U+0020 ' '");
  });
});
