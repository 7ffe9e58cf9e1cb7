/**
 * azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential, as the
 * real provider (terraform-provider-azuread v3.8.0,
 * application_federated_identity_credential_resource.go) drives Graph.
 *
 * - create: GET /v1.0/applications/{id} (any failure fails), POST
 *   .../federatedIdentityCredentials {audiences, description, issuer, name, subject}, then GET the new
 *   credential until it answers five times in a row (a 404 is "not yet"). The id is
 *   "<appObjectId>/federatedIdentityCredential/<credentialId>".
 * - read: GET the credential; 404 is gone (empty id).
 * - update: PATCH the credential (name, immutable, is sent as it is required).
 * - delete: DELETE the credential (any error fails), then GET until it answers 404 five times in a row.
 */
import type { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { waitUntil } from "../consistency";
import { GraphSession } from "../graph";
import { diffFields, Failures, FieldRule, ProviderContext, ResourceHandler } from "../resource";
import { defined, isGuid, Plain, stringList, stringOrEmpty, typedBody, unwrapSecrets } from "../values";
import { applicationObjectId, checkApplicationIdInput } from "./application";

export const federatedIdentityCredentialToken =
  "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential";

function parseCredentialId(id: string): { objectId: string; credentialId: string } | undefined {
  const parts = id.split("/");
  if (parts.length !== 3 || parts[1] !== "federatedIdentityCredential" || !isGuid(parts[0]) || !isGuid(parts[2])) return undefined;
  return { objectId: parts[0], credentialId: parts[2] };
}

const diffRules: FieldRule[] = [
  { name: "applicationId", replace: true },
  { name: "displayName", replace: true },
  { name: "issuer" },
  { name: "subject" },
  { name: "audiences" },
  { name: "description" },
];

const credentialPath = (objectId: string, credentialId: string) =>
  `v1.0/applications/${objectId}/federatedIdentityCredentials/${credentialId}`;

/** stable.FederatedIdentityCredential as v3.8.0 builds it (create and update), with its type annotation. */
function body(inputs: Plain): Plain {
  return typedBody("federatedIdentityCredential", {
    audiences: stringList(inputs.audiences),
    description: typeof inputs.description === "string" ? inputs.description : "",
    issuer: String(inputs.issuer),
    name: String(inputs.displayName),
    subject: String(inputs.subject),
  });
}

function outputs(objectId: string, credential: Plain): Plain {
  return defined({
    id: `${objectId}/federatedIdentityCredential/${credential.id}`,
    applicationId: `/applications/${objectId}`,
    credentialId: credential.id,
    audiences: stringList(credential.audiences),
    description: stringOrEmpty(credential.description),
    displayName: stringOrEmpty(credential.name),
    issuer: stringOrEmpty(credential.issuer),
    subject: stringOrEmpty(credential.subject),
  });
}

async function readCredential(session: GraphSession, objectId: string, credentialId: string): Promise<Plain | undefined> {
  return session.getOrUndefined(
    `read federated credential ${credentialId} of application ${objectId}`,
    credentialPath(objectId, credentialId),
  );
}

export const federatedIdentityCredential: ResourceHandler = {
  check(_olds: Plain, news: Plain): CheckResult {
    const failures = new Failures();
    const plain = unwrapSecrets<Plain>(news);
    checkApplicationIdInput(failures, plain.applicationId);
    for (const field of ["displayName", "issuer", "subject"]) {
      const value = plain[field];
      if (value === undefined || value === null || value === "") failures.add(field, `${field} is required`);
    }
    if (failures.known(plain.audiences) && stringList(plain.audiences).length !== 1)
      failures.add("audiences", "audiences must hold exactly one audience");
    return { inputs: news, failures: failures.list };
  },

  diff(_id: string, olds: Plain, news: Plain): DiffResult {
    return diffFields(olds, news, diffRules);
  },

  async create(context: ProviderContext, inputs: Plain): Promise<CreateResult> {
    const objectId = applicationObjectId(String(inputs.applicationId))!;
    const session = await context.session();
    return context.applicationLocks.run(objectId, async () => {
      await session.request({ operation: `read application ${objectId}`, method: "GET", path: `v1.0/applications/${objectId}` });
      const created = await session.request({
        operation: `add a federated credential to application ${objectId}`,
        method: "POST",
        path: `v1.0/applications/${objectId}/federatedIdentityCredentials`,
        body: body(inputs),
      });
      const credentialId = stringOrEmpty(created.data.id);
      if (!isGuid(credentialId)) throw new Error(`Microsoft Graph: add a federated credential to application ${objectId} returned no id`);
      let credential: Plain | undefined;
      await waitUntil(`add a federated credential to application ${objectId}`, context.timing.update, async () => {
        credential = await readCredential(session, objectId, credentialId);
        return credential !== undefined;
      });
      const outs = outputs(objectId, credential!);
      return { id: String(outs.id), outs };
    });
  },

  async read(context: ProviderContext, id: string): Promise<ReadResult> {
    const parsed = parseCredentialId(id);
    if (!parsed)
      throw new Error(`azuread: '${id}' is not a federated credential id; expected <applicationObjectId>/federatedIdentityCredential/<id>`);
    const session = await context.session();
    const credential = await readCredential(session, parsed.objectId, parsed.credentialId);
    if (!credential) return { id: "", props: {}, inputs: {} };
    const outs = outputs(parsed.objectId, credential);
    const { id: _id, credentialId: _credentialId, ...inputs } = outs;
    return { id, props: outs, inputs };
  },

  async update(context: ProviderContext, id: string, _olds: Plain, news: Plain): Promise<UpdateResult> {
    const parsed = parseCredentialId(id);
    if (!parsed)
      throw new Error(`azuread: '${id}' is not a federated credential id; expected <applicationObjectId>/federatedIdentityCredential/<id>`);
    const session = await context.session();
    await context.applicationLocks.run(parsed.objectId, () =>
      session.request({
        operation: `update federated credential ${parsed.credentialId} of application ${parsed.objectId}`,
        method: "PATCH",
        path: credentialPath(parsed.objectId, parsed.credentialId),
        body: body(news),
      }),
    );
    const credential = await readCredential(session, parsed.objectId, parsed.credentialId);
    if (!credential) throw new Error(`federated credential ${parsed.credentialId} was deleted while it was being updated`);
    return { outs: outputs(parsed.objectId, credential) };
  },

  async delete(context: ProviderContext, id: string): Promise<void> {
    const parsed = parseCredentialId(id);
    if (!parsed)
      throw new Error(`azuread: '${id}' is not a federated credential id; expected <applicationObjectId>/federatedIdentityCredential/<id>`);
    const session = await context.session();
    await context.applicationLocks.run(parsed.objectId, async () => {
      await session.request({
        operation: `remove federated credential ${parsed.credentialId} from application ${parsed.objectId}`,
        method: "DELETE",
        path: credentialPath(parsed.objectId, parsed.credentialId),
      });
      await waitUntil(
        `remove federated credential ${parsed.credentialId} from application ${parsed.objectId}`,
        context.timing.deletion,
        async () => (await readCredential(session, parsed.objectId, parsed.credentialId)) === undefined,
      );
    });
  },
};
