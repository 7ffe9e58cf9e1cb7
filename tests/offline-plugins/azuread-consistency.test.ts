// The stand-in's request sequences and consistency waits against a scripted Graph, for what the
// emulator cannot show on demand: replication lag (404s and "not there yet" answers right after a
// create), keys that take several reads to appear, objects that come back after a delete, and
// paged lists. Each script answers by "METHOD path" in order; an unscripted request fails the test.
import { RestApiError, RestRequest, RestResponse } from "../../lib/rest-client";
import { KeyedLock } from "../../offline-plugins/azuread/consistency";
import { GraphSession } from "../../offline-plugins/azuread/graph";
import { PartialCreateError, ProviderContext } from "../../offline-plugins/azuread/resource";
import { application } from "../../offline-plugins/azuread/resources/application";
import { applicationCertificate } from "../../offline-plugins/azuread/resources/applicationCertificate";
import { federatedIdentityCredential } from "../../offline-plugins/azuread/resources/applicationFederatedIdentityCredential";
import { applicationPassword } from "../../offline-plugins/azuread/resources/applicationPassword";
import { servicePrincipal } from "../../offline-plugins/azuread/resources/servicePrincipal";
import { Plain, unwrapSecrets } from "../../offline-plugins/azuread/values";

const graphBase = "https://graph.example.test/";
const caller = "cccccccc-0000-0000-0000-000000000001";
const appObjectId = "aaaaaaaa-0000-0000-0000-000000000001";
const clientId = "bbbbbbbb-0000-0000-0000-000000000001";
const spObjectId = "dddddddd-0000-0000-0000-000000000001";
const keyId = "eeeeeeee-0000-0000-0000-000000000001";

type Answer = { status: number; data?: Plain; code?: string; message?: string };
const ok = (data: Plain = {}, status = 200): Answer => ({ status, data });
const notFound: Answer = { status: 404, code: "Request_ResourceNotFound", message: "Resource does not exist" };

/** A Graph that answers each "METHOD path" from its queue (the last answer repeats) and records every call. */
class ScriptedGraph {
  readonly calls: string[] = [];
  readonly bodies: unknown[] = [];
  private readonly script = new Map<string, Answer[]>();

  on(method: string, path: string, ...answers: Answer[]): this {
    this.script.set(`${method} ${path}`, answers);
    return this;
  }

  async request<T>(request: RestRequest<T>): Promise<RestResponse<T>> {
    const key = `${request.method} ${request.path}`;
    this.calls.push(key);
    this.bodies.push(request.body);
    const queue = this.script.get(key);
    if (!queue) throw new Error(`unscripted request ${key}`);
    const answer = queue.length > 1 ? queue.shift()! : queue[0];
    if ((answer.status >= 200 && answer.status < 300) || request.acceptStatus?.includes(answer.status)) {
      return { status: answer.status, data: (answer.data ?? {}) as T, headers: {} };
    }
    throw new RestApiError({
      service: "Microsoft Graph",
      host: "graph.example",
      operation: request.operation,
      method: request.method,
      path: request.path,
      status: answer.status,
      code: answer.code,
      serviceMessage: answer.message ?? "",
      attempts: 1,
    });
  }
}

function contextFor(graph: ScriptedGraph): ProviderContext {
  // The real GraphSession (lists, owners, 404 handling) over the scripted client.
  const session = Object.assign(Object.create(GraphSession.prototype), {
    endpoints: { graphResource: graphBase, loginEndpoint: "https://login.example.test/" },
    tenantId: "tenant",
    client: graph,
    callerObjectId: caller,
  }) as GraphSession;
  const fast = { consecutive: 2, intervalMs: 1, timeoutMs: 2000 };
  return {
    session: async () => session,
    timing: { update: fast, deletion: fast, notFound: { consecutive: 1, intervalMs: 1, timeoutMs: 2000 } },
    applicationLocks: new KeyedLock(),
  };
}

const appDoc = (extra: Plain = {}) => ({
  id: appObjectId,
  appId: clientId,
  displayName: "etl",
  signInAudience: "AzureADMyOrg",
  passwordCredentials: [],
  ...extra,
});
const spDoc = { id: spObjectId, appId: clientId, displayName: "etl", accountEnabled: true };
const spFilter = `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`;

describe("application create under replication lag", () => {
  test("POSTs once under the real name, then PATCHes the temporary and the real name, each retried while 404", async () => {
    const graph = new ScriptedGraph()
      .on("POST", "v1.0/applications", ok(appDoc(), 201))
      .on("PATCH", `v1.0/applications/${appObjectId}`, notFound, notFound, ok({}, 204))
      .on("DELETE", `v1.0/applications/${appObjectId}/owners/${caller}/$ref`, ok({}, 204))
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc()))
      .on("GET", `beta/applications/${appObjectId}?$select=applicationTemplateId,oauth2RequirePostResponse`, ok({}))
      .on("GET", `v1.0/applications/${appObjectId}/owners`, ok({ value: [] }));
    const created = await application.create(contextFor(graph), { displayName: "etl", signInAudience: "AzureADMyOrg" });
    expect(created.id).toBe(`/applications/${appObjectId}`);
    expect(graph.calls).toEqual([
      "POST v1.0/applications",
      `PATCH v1.0/applications/${appObjectId}`,
      `PATCH v1.0/applications/${appObjectId}`,
      `PATCH v1.0/applications/${appObjectId}`,
      `PATCH v1.0/applications/${appObjectId}`,
      // owners not set: the caller, an owner at creation, is removed.
      `DELETE v1.0/applications/${appObjectId}/owners/${caller}/$ref`,
      `GET v1.0/applications/${appObjectId}`,
      `GET beta/applications/${appObjectId}?$select=applicationTemplateId,oauth2RequirePostResponse`,
      `GET v1.0/applications/${appObjectId}/owners`,
    ]);
  });

  // internal/services/applications/applications.go (v3.8.0, applicationUpdateRetryFunc): 404 and 409 are retried.
  test("a 409 on the PATCHes after the create is retried like a 404 (v3.8.0's applicationUpdateRetryFunc); a 400 is not", async () => {
    const conflict: Answer = { status: 409, code: "Request_Conflict", message: "conflict" };
    const graph = new ScriptedGraph()
      .on("POST", "v1.0/applications", ok(appDoc(), 201))
      .on("PATCH", `v1.0/applications/${appObjectId}`, conflict, notFound, ok({}, 204))
      .on("DELETE", `v1.0/applications/${appObjectId}/owners/${caller}/$ref`, ok({}, 204))
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc()))
      .on("GET", `beta/applications/${appObjectId}?$select=applicationTemplateId,oauth2RequirePostResponse`, ok({}))
      .on("GET", `v1.0/applications/${appObjectId}/owners`, ok({ value: [] }));
    await application.create(contextFor(graph), { displayName: "etl", signInAudience: "AzureADMyOrg" });
    expect(graph.calls.filter((call) => call.startsWith("PATCH"))).toHaveLength(4);
    const refused = new ScriptedGraph()
      .on("POST", "v1.0/applications", ok(appDoc(), 201))
      .on("PATCH", `v1.0/applications/${appObjectId}`, { status: 400, code: "Request_BadRequest", message: "bad" });
    await expect(application.create(contextFor(refused), { displayName: "etl" })).rejects.toThrow(/was created but not finished/);
    expect(refused.calls.filter((call) => call.startsWith("PATCH"))).toHaveLength(1);
  });

  test("a lost POST answer is an error, not a search for what it may have made", async () => {
    const graph = new ScriptedGraph().on("POST", "v1.0/applications", { status: 400, code: "Request_BadRequest", message: "bad" });
    await expect(application.create(contextFor(graph), { displayName: "etl" })).rejects.toThrow(/create application 'etl' failed/);
    expect(graph.calls).toEqual(["POST v1.0/applications"]);
  });
});

describe("service principal create", () => {
  test("retries the POST while Graph says the application is not there yet, then PATCHes the description once", async () => {
    const graph = new ScriptedGraph()
      .on("GET", spFilter, ok({ value: [] }))
      .on(
        "POST",
        "v1.0/servicePrincipals",
        {
          status: 400,
          code: "Request_BadRequest",
          message: `The appId '${clientId}' of the service principal does not reference a valid application object.`,
        },
        {
          status: 403,
          code: "Authorization_RequestDenied",
          message: "When using this permission, the backing application of the service principal being created must in the local tenant",
        },
        ok(spDoc, 201),
      )
      .on("PATCH", `v1.0/servicePrincipals/${spObjectId}`, ok({}, 204))
      .on("DELETE", `v1.0/servicePrincipals/${spObjectId}/owners/${caller}/$ref`, ok({}, 204))
      .on("GET", `v1.0/servicePrincipals/${spObjectId}`, ok(spDoc))
      .on("GET", `beta/servicePrincipals/${spObjectId}?$select=samlMetadataUrl`, ok({}))
      .on("GET", `v1.0/servicePrincipals/${spObjectId}/owners`, ok({ value: [] }));
    const created = await servicePrincipal.create(contextFor(graph), { clientId });
    expect(created.id).toBe(`/servicePrincipals/${spObjectId}`);
    expect(graph.calls.filter((call) => call === "POST v1.0/servicePrincipals")).toHaveLength(3);
    expect(graph.calls.filter((call) => call === `PATCH v1.0/servicePrincipals/${spObjectId}`)).toHaveLength(1);
  });

  test("a 404 on the description PATCH fails the create as v3.8.0 does (no 404 retry there), leaving the id in state", async () => {
    const graph = new ScriptedGraph()
      .on("GET", spFilter, ok({ value: [] }))
      .on("POST", "v1.0/servicePrincipals", ok(spDoc, 201))
      .on("PATCH", `v1.0/servicePrincipals/${spObjectId}`, notFound, ok({}, 204));
    await expect(servicePrincipal.create(contextFor(graph), { clientId })).rejects.toMatchObject({
      message: expect.stringContaining("Timed out whilst waiting for new service principal to be replicated in Azure AD"),
      id: `/servicePrincipals/${spObjectId}`,
    });
    expect(graph.calls).toEqual([`GET ${spFilter}`, "POST v1.0/servicePrincipals", `PATCH v1.0/servicePrincipals/${spObjectId}`]);
  });

  test("any other POST failure is not retried", async () => {
    const graph = new ScriptedGraph()
      .on("GET", spFilter, ok({ value: [] }))
      .on("POST", "v1.0/servicePrincipals", { status: 400, code: "Request_BadRequest", message: "Invalid property 'x'." });
    await expect(servicePrincipal.create(contextFor(graph), { clientId })).rejects.toThrow(/Invalid property/);
    expect(graph.calls.filter((call) => call === "POST v1.0/servicePrincipals")).toHaveLength(1);
  });

  test("an existing principal is the real provider's error without useExisting, and found across pages", async () => {
    const graph = new ScriptedGraph()
      .on("GET", spFilter, ok({ value: [], "@odata.nextLink": `${graphBase}v1.0/servicePrincipals?page=2` }))
      .on("GET", "v1.0/servicePrincipals?page=2", ok({ value: [spDoc] }));
    await expect(servicePrincipal.create(contextFor(graph), { clientId })).rejects.toThrow(
      `A resource with the ID "${spObjectId}" already exists: To be managed via Terraform, this resource needs to be imported into the State`,
    );
    expect(graph.calls).toEqual([`GET ${spFilter}`, "GET v1.0/servicePrincipals?page=2"]);
  });

  test("two principals for one application are an error, as in the real provider", async () => {
    const graph = new ScriptedGraph().on("GET", spFilter, ok({ value: [spDoc, { ...spDoc, id: caller }] }));
    await expect(servicePrincipal.create(contextFor(graph), { clientId, useExisting: true })).rejects.toThrow(
      /unexpected number of service principals returned \(expected: 1, received: 2/,
    );
  });

  test("useExisting adopts through the update path and leaves owners alone when they are not set", async () => {
    const graph = new ScriptedGraph()
      .on("GET", spFilter, ok({ value: [spDoc] }))
      .on("PATCH", `v1.0/servicePrincipals/${spObjectId}`, ok({}, 204))
      .on("GET", `v1.0/servicePrincipals/${spObjectId}`, ok(spDoc))
      .on("GET", `beta/servicePrincipals/${spObjectId}?$select=samlMetadataUrl`, ok({}))
      .on("GET", `v1.0/servicePrincipals/${spObjectId}/owners`, ok({ value: [{ id: caller }] }));
    const adopted = await servicePrincipal.create(contextFor(graph), { clientId, useExisting: true });
    expect(adopted.id).toBe(`/servicePrincipals/${spObjectId}`);
    expect(adopted.outs).toMatchObject({ owners: [caller], useExisting: true });
    expect(graph.calls.some((call) => call.startsWith("POST"))).toBe(false);
    expect(graph.calls.some((call) => call.includes("/owners/") && call.startsWith("DELETE"))).toBe(false);
  });
});

// internal/services/serviceprincipals/service_principal_resource.go (v3.8.0): with use_existing, the
// create calls servicePrincipalResourceUpdate, which reconciles owners only `if d.HasChange("owners")`;
// in a create the prior state is empty, so an empty or absent owners set is no change.
describe("useExisting adoption reconciles owners only as HasChange would on a create", () => {
  const adoptGraph = (owners: string[]) =>
    new ScriptedGraph()
      .on("GET", spFilter, ok({ value: [spDoc] }))
      .on("PATCH", `v1.0/servicePrincipals/${spObjectId}`, ok({}, 204))
      .on("GET", `v1.0/servicePrincipals/${spObjectId}`, ok(spDoc))
      .on("GET", `beta/servicePrincipals/${spObjectId}?$select=samlMetadataUrl`, ok({}))
      .on("GET", `v1.0/servicePrincipals/${spObjectId}/owners`, ok({ value: owners.map((id) => ({ id })) }))
      .on("POST", `v1.0/servicePrincipals/${spObjectId}/owners/$ref`, ok({}, 204))
      .on("DELETE", `v1.0/servicePrincipals/${spObjectId}/owners/${caller}/$ref`, ok({}, 204));
  const ownerCalls = (graph: ScriptedGraph) => graph.calls.filter((call) => call.includes("/owners/"));

  // service_principal_resource.go (servicePrincipalResourceCreate: d.SetId, then servicePrincipalResourceUpdate).
  test("a failure after the adoption is a partial create: the engine records the principal's id and updates it next time", async () => {
    const graph = adoptGraph([caller]).on("PATCH", `v1.0/servicePrincipals/${spObjectId}`, {
      status: 400,
      code: "Request_BadRequest",
      message: "bad",
    });
    const failure = await servicePrincipal.create(contextFor(graph), { clientId, useExisting: true }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PartialCreateError);
    expect(failure).toMatchObject({ id: `/servicePrincipals/${spObjectId}`, properties: { objectId: spObjectId, clientId } });
    expect((failure as Error).message).toMatch(/adopted \(useExisting\) but not updated: .*HTTP 400/);
  });

  test("owners: [] is no change: the owners the principal has (the deployer) stay", async () => {
    const graph = adoptGraph([caller]);
    const adopted = await servicePrincipal.create(contextFor(graph), { clientId, useExisting: true, owners: [] });
    expect(ownerCalls(graph)).toEqual([]);
    expect(adopted.outs.owners).toEqual([caller]);
  });

  test("a non-empty owners list is a change: listed, the missing added, the others (the deployer) removed", async () => {
    const other = "99999999-0000-0000-0000-000000000001";
    const graph = adoptGraph([caller]);
    await servicePrincipal.create(contextFor(graph), { clientId, useExisting: true, owners: [other] });
    expect(ownerCalls(graph)).toEqual([
      `POST v1.0/servicePrincipals/${spObjectId}/owners/$ref`,
      `DELETE v1.0/servicePrincipals/${spObjectId}/owners/${caller}/$ref`,
    ]);
  });

  test("the adoption PATCH is the update's: every property, accountEnabled true, appRoleAssignmentRequired false, no tags", async () => {
    const graph = adoptGraph([caller]);
    await servicePrincipal.create(contextFor(graph), { clientId, useExisting: true, description: "etl" });
    expect(graph.bodies[graph.calls.indexOf(`PATCH v1.0/servicePrincipals/${spObjectId}`)]).toEqual({
      // stable.ServicePrincipal's MarshalJSON adds the type; expandSamlSingleSignOn gives {} when unset.
      "@odata.type": "#microsoft.graph.servicePrincipal",
      accountEnabled: true,
      alternativeNames: [],
      appRoleAssignmentRequired: false,
      description: "etl",
      loginUrl: null,
      notes: null,
      notificationEmailAddresses: [],
      preferredSingleSignOnMode: null,
      samlSingleSignOnSettings: {},
      tags: [],
    });
  });
});

describe("owners on update (v3.8.0: list, add the missing, remove the others; every failure is an error)", () => {
  const other = "cccccccc-0000-0000-0000-000000000002";
  const updateOwners = (graph: ScriptedGraph) =>
    application.update(
      contextFor(graph),
      `/applications/${appObjectId}`,
      { displayName: "etl", owners: [caller] },
      { displayName: "etl", owners: [other] },
    );
  const scripted = () =>
    new ScriptedGraph()
      .on("PATCH", `v1.0/applications/${appObjectId}`, ok({}, 204))
      .on("GET", `v1.0/applications/${appObjectId}/owners`, ok({ value: [{ id: caller }] }))
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc()))
      .on("GET", `beta/applications/${appObjectId}?$select=applicationTemplateId,oauth2RequirePostResponse`, ok({}));

  test("an owner Graph says is already there is an error, not success", async () => {
    const graph = scripted().on("POST", `v1.0/applications/${appObjectId}/owners/$ref`, {
      status: 400,
      code: "Request_BadRequest",
      message: "One or more added object references already exist for the following modified properties: 'owners'.",
    });
    await expect(updateOwners(graph)).rejects.toThrow(/already exist/);
  });

  test("removing an owner that is already gone is an error (Graph's 404), not success", async () => {
    const graph = scripted()
      .on("POST", `v1.0/applications/${appObjectId}/owners/$ref`, ok({}, 204))
      .on("DELETE", `v1.0/applications/${appObjectId}/owners/${caller}/$ref`, notFound);
    await expect(updateOwners(graph)).rejects.toThrow(/404/);
    expect(graph.calls.filter((call) => call.includes("/owners/"))).toEqual([
      `POST v1.0/applications/${appObjectId}/owners/$ref`,
      `DELETE v1.0/applications/${appObjectId}/owners/${caller}/$ref`,
    ]);
  });
});

describe("password create and delete", () => {
  const credential = {
    keyId,
    displayName: "ci",
    startDateTime: "2026-11-30T10:00:00Z",
    endDateTime: "2027-11-30T10:00:00.000Z",
    hint: "abc",
  };

  test("GET, addPassword, then reads until the key is listed in consecutive answers; state is the last read", async () => {
    const graph = new ScriptedGraph()
      .on(
        "GET",
        `v1.0/applications/${appObjectId}`,
        ok(appDoc()),
        ok(appDoc()),
        ok(appDoc({ passwordCredentials: [credential] })),
        ok(appDoc()),
        ok(appDoc({ passwordCredentials: [credential] })),
      )
      .on(
        "POST",
        `v1.0/applications/${appObjectId}/addPassword`,
        ok({ ...credential, endDateTime: "2027-11-30T10:00:00Z", secretText: "s3cret" }),
      );
    const created = await applicationPassword.create(contextFor(graph), {
      applicationId: `/applications/${appObjectId}`,
      displayName: "ci",
      endDate: "2027-11-30T10:00:00Z",
    });
    // before; addPassword; missing, seen, missing (a lagging replica), seen, seen.
    expect(graph.calls).toEqual([
      `GET v1.0/applications/${appObjectId}`,
      `POST v1.0/applications/${appObjectId}/addPassword`,
      ...Array(5).fill(`GET v1.0/applications/${appObjectId}`),
    ]);
    expect(created.id).toBe(`${appObjectId}/password/${keyId}`);
    // Stored as the read returned it, milliseconds and all.
    expect(created.outs.endDate).toBe("2027-11-30T10:00:00.000Z");
    expect(unwrapSecrets(created.outs.value)).toBe("s3cret");
  });

  test("a failed read while waiting fails the create, as the real provider's poll does", async () => {
    const graph = new ScriptedGraph()
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc()), notFound)
      .on("POST", `v1.0/applications/${appObjectId}/addPassword`, ok({ ...credential, secretText: "s3cret" }));
    await expect(applicationPassword.create(contextFor(graph), { applicationId: `/applications/${appObjectId}` })).rejects.toThrow(/404/);
  });

  test("delete: removePassword without a look first, then reads until the key is absent in consecutive answers", async () => {
    const graph = new ScriptedGraph()
      .on("POST", `v1.0/applications/${appObjectId}/removePassword`, ok({}, 204))
      .on(
        "GET",
        `v1.0/applications/${appObjectId}`,
        ok(appDoc({ passwordCredentials: [credential] })),
        ok(appDoc()),
        ok(appDoc({ passwordCredentials: [credential] })),
        ok(appDoc()),
        ok(appDoc()),
      );
    await applicationPassword.delete(contextFor(graph), `${appObjectId}/password/${keyId}`, {});
    expect(graph.calls).toEqual([
      `POST v1.0/applications/${appObjectId}/removePassword`,
      ...Array(5).fill(`GET v1.0/applications/${appObjectId}`),
    ]);
  });
});

describe("deletes wait for consistent 404s", () => {
  test("an application that comes back after a 404 is waited for", async () => {
    const graph = new ScriptedGraph()
      .on("DELETE", `v1.0/applications/${appObjectId}`, ok({}, 204))
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc()), notFound, ok(appDoc()), notFound, notFound);
    await application.delete(contextFor(graph), `/applications/${appObjectId}`, {});
    expect(graph.calls).toEqual([`DELETE v1.0/applications/${appObjectId}`, ...Array(5).fill(`GET v1.0/applications/${appObjectId}`)]);
  });

  test("a service principal adopted with useExisting: a failed DELETE is ignored and not waited for", async () => {
    const graph = new ScriptedGraph().on("DELETE", `v1.0/servicePrincipals/${spObjectId}`, {
      status: 403,
      code: "Authorization_RequestDenied",
      message: "Insufficient privileges",
    });
    await servicePrincipal.delete(contextFor(graph), `/servicePrincipals/${spObjectId}`, { useExisting: true });
    expect(graph.calls).toEqual([`DELETE v1.0/servicePrincipals/${spObjectId}`]);
    await expect(servicePrincipal.delete(contextFor(graph), `/servicePrincipals/${spObjectId}`, {})).rejects.toThrow(
      /Insufficient privileges/,
    );
  });
});

describe("application certificate and federated credential (v3.8.0's calls)", () => {
  const certKeyId = "ffffffff-0000-0000-0000-000000000001";
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const existing = { keyId: "ffffffff-0000-0000-0000-000000000002", type: "AsymmetricX509Cert", usage: "Verify", key: null };
  const listed = { keyId: certKeyId, type: "AsymmetricX509Cert", usage: "Verify", key: null, endDateTime: "2027-01-01T00:00:00Z" };

  // internal/services/applications/application_certificate_resource.go (v3.8.0): the PATCH is
  // stable.Application{Id, KeyCredentials}; existing credentials go back as read (key: null included).
  test("certificate: GET, PATCH the application's id and all key credentials plus the new one (key = base64 of the PEM), then reads until listed", async () => {
    const graph = new ScriptedGraph()
      .on(
        "GET",
        `v1.0/applications/${appObjectId}`,
        ok(appDoc({ keyCredentials: [existing] })),
        ok(appDoc({ keyCredentials: [existing] })),
        ok(appDoc({ keyCredentials: [existing, listed] })),
      )
      .on("PATCH", `v1.0/applications/${appObjectId}`, ok({}, 204));
    const created = await applicationCertificate.create(contextFor(graph), {
      applicationId: `/applications/${appObjectId}`,
      keyId: certKeyId,
      type: "AsymmetricX509Cert",
      encoding: "pem",
      value: pem,
    });
    expect(graph.calls).toEqual([
      `GET v1.0/applications/${appObjectId}`,
      `PATCH v1.0/applications/${appObjectId}`,
      ...Array(3).fill(`GET v1.0/applications/${appObjectId}`),
    ]);
    expect(graph.bodies[1]).toEqual({
      "@odata.type": "#microsoft.graph.application",
      id: appObjectId,
      keyCredentials: [
        { keyId: existing.keyId, type: "AsymmetricX509Cert", usage: "Verify", key: null },
        { keyId: certKeyId, type: "AsymmetricX509Cert", usage: "Verify", key: Buffer.from(pem).toString("base64") },
      ],
    });
    expect(created.id).toBe(`${appObjectId}/certificate/${certKeyId}`);
    expect(created.outs.endDate).toBe("2027-01-01T00:00:00Z");
  });

  // internal/helpers/credentials/credentials.go (v3.8.0, KeyCredentialForResource).
  test("certificate: endDateRelative ends the key that long after now; with a startDate too it fails as v3.8.0 does", async () => {
    const graph = new ScriptedGraph()
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc({ keyCredentials: [] })), ok(appDoc({ keyCredentials: [listed] })))
      .on("PATCH", `v1.0/applications/${appObjectId}`, ok({}, 204));
    const before = Date.now();
    await applicationCertificate.create(contextFor(graph), {
      applicationId: `/applications/${appObjectId}`,
      keyId: certKeyId,
      type: "AsymmetricX509Cert",
      value: pem,
      endDateRelative: "240h",
    });
    const sent = (graph.bodies[1] as { keyCredentials: Plain[] }).keyCredentials[0];
    expect(sent.endDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const ends = Date.parse(String(sent.endDateTime));
    expect(ends).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 240 * 3_600_000);
    expect(ends).toBeLessThanOrEqual(Date.now() + 240 * 3_600_000);
    const failing = new ScriptedGraph();
    await expect(
      applicationCertificate.create(contextFor(failing), {
        applicationId: `/applications/${appObjectId}`,
        value: pem,
        startDate: "2026-01-01T00:00:00Z",
        endDateRelative: "240h",
      }),
    ).rejects.toThrow(/Unable to parse the provided start date "240h"/);
  });

  test("certificate: a value Go's decoders refuse fails before any Graph call (base64.StdEncoding, hex.Decode)", async () => {
    const graph = new ScriptedGraph();
    const create = (value: string, encoding: string) =>
      applicationCertificate.create(contextFor(graph), { applicationId: `/applications/${appObjectId}`, value, encoding });
    await expect(create("MIIB v8=", "base64")).rejects.toThrow("failed to decode base64 certificate data");
    await expect(create("30820", "hex")).rejects.toThrow(
      "failed to decode hexadecimal certificate data: encoding/hex: odd length hex string",
    );
    expect(graph.calls).toEqual([]);
  });

  test('certificate: an unset type is sent as "" (the schema has no default), and delete PATCHes the id too', async () => {
    const graph = new ScriptedGraph()
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc({ keyCredentials: [] })), ok(appDoc({ keyCredentials: [listed] })))
      .on("PATCH", `v1.0/applications/${appObjectId}`, ok({}, 204));
    await applicationCertificate.create(contextFor(graph), { applicationId: `/applications/${appObjectId}`, keyId: certKeyId, value: pem });
    expect((graph.bodies[1] as { keyCredentials: Plain[] }).keyCredentials[0].type).toBe("");
    const removal = new ScriptedGraph()
      .on(
        "GET",
        `v1.0/applications/${appObjectId}`,
        ok(appDoc({ keyCredentials: [existing, listed] })),
        ok(appDoc({ keyCredentials: [existing] })),
      )
      .on("PATCH", `v1.0/applications/${appObjectId}`, ok({}, 204));
    await applicationCertificate.delete(contextFor(removal), `${appObjectId}/certificate/${certKeyId}`, {});
    expect(removal.bodies[1]).toEqual({ "@odata.type": "#microsoft.graph.application", id: appObjectId, keyCredentials: [existing] });
  });

  test("federated: GET the application, POST the credential, then GET it until it answers in consecutive reads (404 = not yet)", async () => {
    const credentialId = "99999999-0000-0000-0000-000000000001";
    const doc = {
      id: credentialId,
      name: "fed",
      issuer: "https://issuer.example",
      subject: "s",
      audiences: ["api://AzureADTokenExchange"],
    };
    const graph = new ScriptedGraph()
      .on("GET", `v1.0/applications/${appObjectId}`, ok(appDoc()))
      .on("POST", `v1.0/applications/${appObjectId}/federatedIdentityCredentials`, ok(doc, 201))
      .on("GET", `v1.0/applications/${appObjectId}/federatedIdentityCredentials/${credentialId}`, notFound, ok(doc));
    const created = await federatedIdentityCredential.create(contextFor(graph), {
      applicationId: `/applications/${appObjectId}`,
      displayName: "fed",
      issuer: "https://issuer.example",
      subject: "s",
      audiences: ["api://AzureADTokenExchange"],
    });
    expect(graph.calls).toEqual([
      `GET v1.0/applications/${appObjectId}`,
      `POST v1.0/applications/${appObjectId}/federatedIdentityCredentials`,
      ...Array(3).fill(`GET v1.0/applications/${appObjectId}/federatedIdentityCredentials/${credentialId}`),
    ]);
    expect(graph.bodies[1]).toEqual({
      "@odata.type": "#microsoft.graph.federatedIdentityCredential",
      audiences: ["api://AzureADTokenExchange"],
      description: "",
      issuer: "https://issuer.example",
      name: "fed",
      subject: "s",
    });
    expect(created.id).toBe(`${appObjectId}/federatedIdentityCredential/${credentialId}`);
  });
});
