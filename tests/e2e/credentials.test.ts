// The two credentials that store no secret, proven end to end: the real engine deploys one
// integration with an uploaded certificate and one with a federated identity credential (trusting
// the emulator's own issuer), then each consumer takes a token as its app with @azure/identity
// (a client assertion signed with the private key; a federated assertion) and calls WhoAmI.
import { ClientAssertionCredential, ClientCertificateCredential, TokenCredential } from "@azure/identity";
import { generate } from "selfsigned";
import { DataverseClient } from "../../lib/dataverse-client";
import { RestClient } from "../../lib/rest-client";
import { laggingTenant, startE2eEmulator, TestEmulator } from "../support/emulator";
import { createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(10 * 60 * 1000);

let test_: TestEmulator;
let project: TestProject;
let privateKeyPem: string;
let certificatePem: string;
const federatedSubject = "repo:contoso/etl:environment:production";

beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
  const generated = await generate([{ name: "commonName", value: "dataverse-s2s e2e certificate" }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
  });
  privateKeyPem = generated.private;
  certificatePem = generated.cert;
  project = await createTestProject(test_.emulator, "credentials", [
    { name: "cert", displayName: "E2E certificate connector", credential: { type: "certificate", certificatePem } },
    {
      name: "fed",
      displayName: "E2E federated connector",
      credential: { type: "federated", federated: { issuer: `${test_.emulator.url}/_emulator/issuer`, subject: federatedSubject } },
    },
  ]);
});

afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

/** WhoAmI as `credential`; a credential just added replicates for a while (AADSTS700027 / 70021 until then). */
async function whoAmIWith(credential: TokenCredential, environmentUrl: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return (await new DataverseClient(environmentUrl, { credential }).whoAmI()).UserId;
    } catch (error) {
      if (Date.now() >= deadline || !/AADSTS(700027|70021|700016)/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

test("a certificate and a federated integration each get a token with @azure/identity and pass WhoAmI", async () => {
  const result = await project.stack.up();
  expect(result.summary.result).toBe("succeeded");
  const integrations = result.outputs.integrations.value as Record<string, Record<string, string>>;
  const cert = integrations.cert;
  const fed = integrations.fed;
  expect(cert.clientSecret).toBeUndefined();
  expect(fed.clientSecret).toBeUndefined();
  const authority = { authorityHost: test_.emulator.authorityHost, disableInstanceDiscovery: true };

  // Certificate: the assertion is signed with the private key, which never went to the stack.
  const certificateCredential = new ClientCertificateCredential(
    test_.emulator.tenantId,
    cert.clientId,
    { certificate: `${privateKeyPem}\n${certificatePem}` },
    authority,
  );
  expect((await whoAmIWith(certificateCredential, cert.environmentUrl)).toLowerCase()).toBe(cert.applicationUserId.toLowerCase());

  // Federated: a token of the trusted issuer for the configured subject is exchanged for an Entra token.
  const admin = new RestClient({ service: "Emulator admin", baseUrl: `${test_.emulator.url}/_emulator/` });
  const federatedToken = async () =>
    (
      await admin.request<{ token: string }>({
        operation: "federated token",
        method: "POST",
        path: "issuer/token",
        body: { subject: federatedSubject },
      })
    ).data.token;
  const federatedCredential = new ClientAssertionCredential(test_.emulator.tenantId, fed.clientId, federatedToken, authority);
  expect((await whoAmIWith(federatedCredential, fed.environmentUrl)).toLowerCase()).toBe(fed.applicationUserId.toLowerCase());

  // A token for another subject is refused: the trust is for exactly the configured one.
  const otherSubject = new ClientAssertionCredential(
    test_.emulator.tenantId,
    fed.clientId,
    async () =>
      (
        await admin.request<{ token: string }>({
          operation: "federated token",
          method: "POST",
          path: "issuer/token",
          body: { subject: "repo:contoso/other:ref:refs/heads/main" },
        })
      ).data.token,
    authority,
  );
  await expect(new DataverseClient(fed.environmentUrl, { credential: otherSubject }).whoAmI()).rejects.toThrow(/AADSTS/);

  const destroyed = await project.stack.destroy();
  expect(destroyed.summary.result).toBe("succeeded");
});
