// Pins the credentials that replace a client secret, with Pulumi mocks: an uploaded certificate is a
// single public PEM certificate (a private key, a chain or DER is refused, saying what to give); a
// federated credential trusts one exact issuer and subject, with Entra's token-exchange audience by
// default; the GitHub Actions and AKS helpers build the subjects those platforms put in their tokens.
import * as pulumi from "@pulumi/pulumi";
import { isSecret, recordResources, valueOf } from "../support/pulumi-mocks";
import { generate } from "selfsigned";

const { recorded } = recordResources();

// Imported after the mocks are in place.
import { aksWorkloadIdentityFederation, certificateCredential, federatedCredential } from "../../components/alternative-credentials";
import {
  applicationIdProblem,
  certificatePemProblem,
  entraTokenExchangeAudience,
  githubActionsFederation,
  readCertificatePem,
} from "../../lib/credential-rules";

const applicationId = "/applications/00000000-0000-0000-0000-0000000000aa";
const isSecretMarker = (value: unknown): value is { value: any } =>
  typeof value === "object" && value !== null && (value as any)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
const last = (type: string) => recorded.filter((resource) => resource.type === type).at(-1)!;
const certificateType = "azuread:index/applicationCertificate:ApplicationCertificate";
const federatedType = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential";

let certificatePem: string;
let privateKeyPem: string;
let otherCertificatePem: string;
const validFrom = new Date("2026-01-01T00:00:00Z");
const validTo = new Date("2027-01-01T00:00:00Z");

beforeAll(async () => {
  const made = await generate([{ name: "commonName", value: "etl-integration" }], {
    notBeforeDate: validFrom,
    notAfterDate: validTo,
    keyType: "ec",
  });
  certificatePem = made.cert;
  privateKeyPem = made.private;
  otherCertificatePem = (await generate([{ name: "commonName", value: "intermediate" }], { keyType: "ec" })).cert;
});

describe("certificate credential", () => {
  test("uploads the public certificate as an asymmetric X.509 PEM credential of the application", async () => {
    const credential = certificateCredential("etl-certificate", { applicationId, certificatePem, endDate: "2026-12-31T00:00:00Z" });
    await valueOf(credential.id);
    const { name, inputs } = last(certificateType);
    expect(name).toBe("etl-certificate");
    expect(inputs).toMatchObject({ applicationId, type: "AsymmetricX509Cert", encoding: "pem", endDate: "2026-12-31T00:00:00Z" });
    // The azuread SDK sends the certificate data as a secret in any case.
    expect(isSecretMarker(inputs.value)).toBe(true);
    expect(inputs.value.value).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/);
    expect(readCertificatePem(inputs.value.value).thumbprint).toBe(readCertificatePem(certificatePem).thumbprint);
  });

  test("a PEM from a config secret (an output, with CRLF and padding) is checked and normalized inside the output chain", async () => {
    const credential = certificateCredential("etl-certificate-secret", {
      applicationId,
      certificatePem: pulumi.secret(`\r\n  ${certificatePem.replace(/\n/g, "\r\n")}  `),
    });
    await valueOf(credential.id);
    const { inputs } = last(certificateType);
    expect(isSecretMarker(inputs.value)).toBe(true);
    expect(inputs.value.value.startsWith("-----BEGIN CERTIFICATE-----\n")).toBe(true);
    expect(inputs.endDate).toBeUndefined();
    expect(await isSecret(credential.value)).toBe(true);
  });

  test("the certificate is summarized: subject, validity and the thumbprint Entra shows", () => {
    const summary = readCertificatePem(certificatePem);
    expect(summary.subject).toContain("CN=etl-integration");
    expect(summary.validFrom).toBe(validFrom.toISOString());
    expect(summary.validTo).toBe(validTo.toISOString());
    expect(summary.thumbprint).toMatch(/^[0-9A-F]{40}$/);
  });

  test("a private key is refused, alone or beside the certificate, without echoing it", () => {
    for (const pem of [privateKeyPem, `${certificatePem}\n${privateKeyPem}`, `${privateKeyPem}\n${certificatePem}`]) {
      const problem = certificatePemProblem(pem)!;
      expect(problem).toMatch(
        /^The certificate PEM holds a private key; remove it and never put it in config or in Entra: give the public certificate only/,
      );
      expect(problem).not.toContain(privateKeyPem.split("\n")[1]);
    }
  });

  test("other shapes are refused with what to give instead", () => {
    const body = certificatePem
      .split("\n")
      .filter((line) => line && !line.startsWith("-----"))
      .join("");
    expect(certificatePemProblem(body)).toMatch(
      /is not PEM \(no '-----BEGIN CERTIFICATE-----' line\); base64 DER or a PFX file are not accepted/,
    );
    expect(certificatePemProblem("")).toMatch(
      /^The certificate is empty; give the public certificate only, in PEM form starting with '-----BEGIN CERTIFICATE-----'/,
    );
    expect(certificatePemProblem(`${certificatePem}${otherCertificatePem}`)).toMatch(/holds 2 certificates \(a chain\?\); Entra takes one/);
    expect(certificatePemProblem("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----")).toMatch(
      /is not a readable X.509 certificate/,
    );
    expect(certificatePemProblem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")).toMatch(
      /holds no '-----BEGIN CERTIFICATE-----' block \(found PUBLIC KEY\)/,
    );
    expect(certificatePemProblem(certificatePem)).toBeUndefined();
  });

  test("a bad PEM or an end date outside the certificate's validity is refused before anything is declared", () => {
    recorded.length = 0;
    expect(() => certificateCredential("bad-pem", { applicationId, certificatePem: "MIIB..." })).toThrow(
      /^bad-pem: The certificate is not PEM/,
    );
    expect(() => certificateCredential("late", { applicationId, certificatePem, endDate: "2027-06-01T00:00:00Z" })).toThrow(
      "late: endDate 2027-06-01T00:00:00Z is after the certificate expires (2027-01-01T00:00:00.000Z); leave endDate out or set it no later than that.",
    );
    expect(() => certificateCredential("odd-date", { applicationId, certificatePem, endDate: "next year" })).toThrow(
      /odd-date: endDate 'next year' is not an RFC 3339 date/,
    );
    expect(recorded).toHaveLength(0);
  });

  test("the application is named by its azuread v6 resource id", () => {
    expect(applicationIdProblem(applicationId)).toBeUndefined();
    expect(() => certificateCredential("by-client-id", { applicationId: "00000000-0000-0000-0000-0000000000aa", certificatePem })).toThrow(
      /^by-client-id: applicationId must be the application's resource id '\/applications\/<object id>'/,
    );
  });
});

describe("federated credential", () => {
  test("trusts the given issuer and subject, with Entra's token-exchange audience by default", async () => {
    const credential = federatedCredential("etl-federated", {
      applicationId,
      issuer: "https://idp.example.com",
      subject: "workload-42",
      displayName: "etl-idp",
    });
    await valueOf(credential.id);
    const { name, inputs } = last(federatedType);
    expect(name).toBe("etl-federated");
    expect(inputs).toEqual({
      applicationId,
      issuer: "https://idp.example.com",
      subject: "workload-42",
      audiences: ["api://AzureADTokenExchange"],
      displayName: "etl-idp",
    });
    expect(entraTokenExchangeAudience).toBe("api://AzureADTokenExchange");
  });

  test("an explicit audience is kept; the display name defaults to the resource name", async () => {
    await valueOf(
      federatedCredential("etl.fed", { applicationId, issuer: "https://idp.example.com", subject: "w", audiences: ["api://custom"] }).id,
    );
    expect(last(federatedType).inputs).toMatchObject({ audiences: ["api://custom"], displayName: "etl-fed" });
  });

  test("inputs Entra would refuse are refused first, saying what to change", () => {
    const base = { applicationId, issuer: "https://idp.example.com", subject: "w" };
    expect(() => federatedCredential("f", { ...base, audiences: [] })).toThrow(
      /^f: audiences must hold exactly one value .* leave it out for the default 'api:\/\/AzureADTokenExchange'/,
    );
    expect(() => federatedCredential("f", { ...base, audiences: ["a", "b"] })).toThrow(/audiences must hold exactly one value/);
    expect(() => federatedCredential("f", { ...base, issuer: "http://idp.example.com" })).toThrow(
      /^f: issuer 'http:\/\/idp.example.com' must use https/,
    );
    expect(() => federatedCredential("f", { ...base, issuer: "idp.example.com" })).toThrow(/issuer 'idp.example.com' is not a URL/);
    expect(() => federatedCredential("f", { ...base, subject: "repo:o/r:*" })).toThrow(
      /wildcards are not supported: list one credential per subject/,
    );
    expect(() => federatedCredential("f", { ...base, subject: " w" })).toThrow(/leading or trailing white space/);
    expect(() => federatedCredential("f", { ...base, subject: "x".repeat(601) })).toThrow(/subject is 601 characters; Entra allows 600/);
    expect(() => federatedCredential("f", { ...base, displayName: "my credential" })).toThrow(
      /displayName 'my credential' must be 1 to 120 letters, digits, dashes or underscores/,
    );
  });
});

describe("GitHub Actions", () => {
  test("a deployment environment", () => {
    expect(githubActionsFederation({ owner: "contoso", repo: "etl-jobs", environment: "production" })).toEqual({
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:contoso/etl-jobs:environment:production",
      audiences: ["api://AzureADTokenExchange"],
      displayName: "github-contoso-etl-jobs-environment-production",
    });
  });

  test("a branch, a tag, pull requests", () => {
    expect(githubActionsFederation({ owner: "contoso", repo: "etl-jobs", branch: "main" }).subject).toBe(
      "repo:contoso/etl-jobs:ref:refs/heads/main",
    );
    expect(githubActionsFederation({ owner: "contoso", repo: "etl-jobs", branch: "release/2026" }).displayName).toBe(
      "github-contoso-etl-jobs-release-2026",
    );
    expect(githubActionsFederation({ owner: "contoso", repo: "etl.jobs", tag: "v1.2.0" }).subject).toBe(
      "repo:contoso/etl.jobs:ref:refs/tags/v1.2.0",
    );
    expect(githubActionsFederation({ owner: "contoso", repo: "etl-jobs", pullRequest: true }).subject).toBe(
      "repo:contoso/etl-jobs:pull_request",
    );
  });

  test("spreads into a federated credential", async () => {
    await valueOf(
      federatedCredential("etl-github", {
        applicationId,
        ...githubActionsFederation({ owner: "contoso", repo: "etl-jobs", environment: "prod" }),
      }).id,
    );
    expect(last(federatedType).inputs).toMatchObject({
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:contoso/etl-jobs:environment:prod",
    });
  });

  test("mistakes are refused, saying what to change", () => {
    const repo = { owner: "contoso", repo: "etl-jobs" };
    expect(() => githubActionsFederation({ ...repo })).toThrow(
      /give exactly one of environment, branch, tag or pullRequest: true \(given: none\)/,
    );
    expect(() => githubActionsFederation({ ...repo, branch: "main", environment: "prod" })).toThrow(/\(given: environment, branch\)/);
    expect(() => githubActionsFederation({ ...repo, branch: "refs/heads/main" })).toThrow(
      /branch 'refs\/heads\/main' must be the bare name; drop the 'refs\/heads\/' prefix/,
    );
    expect(() => githubActionsFederation({ ...repo, branch: "feature/*" })).toThrow(/is not a valid git branch name/);
    expect(() => githubActionsFederation({ ...repo, environment: "prod:eu" })).toThrow(
      /environment 'prod:eu' must be the GitHub environment's name exactly/,
    );
    expect(() => githubActionsFederation({ owner: "https://github.com/contoso", repo: "etl-jobs", branch: "main" })).toThrow(
      /owner must be a GitHub user or organization name/,
    );
    expect(() => githubActionsFederation({ owner: "contoso", repo: "contoso/etl-jobs", branch: "main" })).toThrow(
      /repo must be the repository name alone/,
    );
  });
});

describe("AKS workload identity", () => {
  const issuer = "https://westeurope.oic.prod-aks.azure.com/11111111-2222-3333-4444-555555555555/66666666-7777-8888-9999-000000000000/";

  test("a service account in a namespace", () => {
    expect(aksWorkloadIdentityFederation({ oidcIssuerUrl: issuer, namespace: "integrations", serviceAccount: "etl-runner" })).toEqual({
      issuer,
      subject: "system:serviceaccount:integrations:etl-runner",
      audiences: ["api://AzureADTokenExchange"],
      displayName: "aks-integrations-etl-runner",
    });
  });

  test("an issuer from the cluster's outputs is passed through and checked later", async () => {
    const identity = aksWorkloadIdentityFederation({
      oidcIssuerUrl: pulumi.output(issuer),
      namespace: "integrations",
      serviceAccount: "etl-runner",
    });
    await valueOf(federatedCredential("etl-aks", { applicationId, ...identity }).id);
    expect(last(federatedType).inputs).toMatchObject({
      issuer,
      subject: "system:serviceaccount:integrations:etl-runner",
      audiences: ["api://AzureADTokenExchange"],
    });
  });

  test("mistakes are refused, saying what to change", () => {
    const account = { oidcIssuerUrl: issuer, namespace: "integrations", serviceAccount: "etl-runner" };
    expect(() => aksWorkloadIdentityFederation({ ...account, oidcIssuerUrl: issuer.slice(0, -1) })).toThrow(
      /lacks the trailing '\/' that AKS issuer URLs carry; add it/,
    );
    expect(() => aksWorkloadIdentityFederation({ ...account, oidcIssuerUrl: "" })).toThrow(
      /oidcIssuerUrl is required.*az aks show -g <rg> -n <cluster> --query oidcIssuerProfile.issuerUrl/,
    );
    expect(() => aksWorkloadIdentityFederation({ ...account, namespace: "Integrations" })).toThrow(
      /namespace must be a Kubernetes namespace name/,
    );
    expect(() => aksWorkloadIdentityFederation({ ...account, serviceAccount: "etl_runner" })).toThrow(
      /serviceAccount must be a Kubernetes service account name/,
    );
  });
});
