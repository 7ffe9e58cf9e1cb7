/**
 * Credentials stronger than a client secret for an integration's app registration: an uploaded
 * certificate (the consumer signs a client assertion with the private key, which never leaves it)
 * or a federated identity credential (no stored credential at all: Entra trusts tokens that another
 * identity provider, such as GitHub Actions or an AKS cluster, issues to one named workload).
 * The Dataverse application user is tied to the client id, so it works the same with either.
 */
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import {
  aksFederationContext,
  aksOidcIssuerProblem,
  aksServiceAccountIdentity,
  type AksServiceAccount,
  applicationIdProblem,
  audiencesProblem,
  certificateEndDateProblem,
  CertificateSummary,
  credentialNameFrom,
  credentialNameProblem,
  entraTokenExchangeAudience,
  issuerProblem,
  readCertificatePem,
  subjectProblem,
} from "../lib/credential-rules";
import { checked } from "./input-checks";

/**
 * Fails for the component that declares the credential (the parent in `opts`): Pulumi reports a
 * ResourceError against that resource. The message starts with the credential's name.
 */
function fail(message: string, name: string, opts: pulumi.CustomResourceOptions | undefined): never {
  throw new pulumi.ResourceError(`${name}: ${message}`, opts?.parent);
}

function failIf(problem: string | undefined, name: string, opts: pulumi.CustomResourceOptions | undefined): void {
  if (problem) fail(problem, name, opts);
}

export interface CertificateCredentialArgs {
  /** The application's resource id, '/applications/<object id>' (azuread.Application's id). */
  readonly applicationId: pulumi.Input<string>;
  /** The public certificate in PEM form, usually a config secret; a private key is refused. */
  readonly certificatePem: pulumi.Input<string>;
  /** RFC 3339 end of the credential, no later than the certificate's expiry; default: Entra takes the certificate's. */
  readonly endDate?: pulumi.Input<string>;
}

/**
 * Uploads a public certificate as a credential of the application. The consumer authenticates
 * with a client assertion signed by the matching private key.
 */
export function certificateCredential(
  name: string,
  args: CertificateCredentialArgs,
  opts?: pulumi.CustomResourceOptions,
): azuread.ApplicationCertificate {
  const applicationId = checked(args.applicationId, (value) => {
    failIf(applicationIdProblem(value), name, opts);
    return value;
  });
  const checkedCertificate = (pem: string, endDate: string | undefined): string => {
    let summary: CertificateSummary;
    try {
      summary = readCertificatePem(pem);
    } catch (error) {
      fail((error as Error).message, name, opts);
    }
    if (endDate !== undefined) failIf(certificateEndDateProblem(endDate, summary), name, opts);
    return summary.pem;
  };
  const resolved = (input: unknown) => !pulumi.Output.isInstance(input) && !(input instanceof Promise);
  const plain = resolved(args.certificatePem) && resolved(args.endDate);
  const value = plain
    ? checkedCertificate(args.certificatePem as string, args.endDate as string | undefined)
    : pulumi.all([args.certificatePem, args.endDate]).apply(([pem, endDate]) => checkedCertificate(pem, endDate));
  return new azuread.ApplicationCertificate(
    name,
    {
      applicationId,
      type: "AsymmetricX509Cert",
      encoding: "pem",
      value,
      endDate: args.endDate,
    },
    opts,
  );
}

// ---------------------------------------------------------------------------------------------
// Federated identity
// ---------------------------------------------------------------------------------------------

/** Who Entra trusts: the issuer and subject a federated token must carry. */
export interface FederatedIdentity {
  /** URL of the external identity provider; must equal the token's `iss` exactly. */
  readonly issuer: pulumi.Input<string>;
  /** The workload's identifier at that provider; must equal the token's `sub` exactly. */
  readonly subject: pulumi.Input<string>;
  /** Accepted `aud` values; default ['api://AzureADTokenExchange']. Entra takes exactly one. */
  readonly audiences?: pulumi.Input<string>[];
  /** Name of the credential in Entra: up to 120 letters, digits, dashes, underscores; unique per app. */
  readonly displayName?: pulumi.Input<string>;
  /** Free text shown in Entra. */
  readonly description?: pulumi.Input<string>;
}

/** What the helpers for the common providers return: spread it into FederatedCredentialArgs. */
export interface FederatedIdentityPreset extends FederatedIdentity {
  readonly subject: string;
  readonly audiences: string[];
  readonly displayName: string;
}

export interface FederatedCredentialArgs extends FederatedIdentity {
  /** The application's resource id, '/applications/<object id>' (azuread.Application's id). */
  readonly applicationId: pulumi.Input<string>;
}

/** Trusts tokens from `issuer` for `subject`: no credential is stored anywhere. */
export function federatedCredential(
  name: string,
  args: FederatedCredentialArgs,
  opts?: pulumi.CustomResourceOptions,
): azuread.ApplicationFederatedIdentityCredential {
  const check =
    <T>(problem: (value: unknown) => string | undefined) =>
    (value: T): T => {
      failIf(problem(value), name, opts);
      return value;
    };
  const audiences = args.audiences ?? [entraTokenExchangeAudience];
  const plainAudiences = audiences.every((audience) => !pulumi.Output.isInstance(audience));
  return new azuread.ApplicationFederatedIdentityCredential(
    name,
    {
      applicationId: checked(args.applicationId, check(applicationIdProblem)),
      issuer: checked(args.issuer, check(issuerProblem)),
      subject: checked(args.subject, check(subjectProblem)),
      audiences: plainAudiences
        ? check<string[]>(audiencesProblem)(audiences as string[])
        : pulumi.all(audiences).apply(check<string[]>(audiencesProblem)),
      displayName: checked(args.displayName ?? credentialNameFrom(name), check(credentialNameProblem)),
      description: args.description,
    },
    opts,
  );
}

/** A Kubernetes service account in an AKS cluster with workload identity enabled. */
export interface AksWorkloadIdentityFederationArgs extends AksServiceAccount {
  /** The cluster's OIDC issuer URL ('az aks show --query oidcIssuerProfile.issuerUrl'), trailing slash included. */
  readonly oidcIssuerUrl: pulumi.Input<string>;
}

/** The issuer and subject for pods running as a service account under AKS workload identity. */
export function aksWorkloadIdentityFederation(args: AksWorkloadIdentityFederationArgs): FederatedIdentityPreset {
  const identity = aksServiceAccountIdentity(args);
  const issuer = checked(args.oidcIssuerUrl, (value) => {
    const problem = aksOidcIssuerProblem(value);
    if (problem) throw new Error(`${aksFederationContext(args)}: ${problem}`);
    return value;
  });
  return { issuer, ...identity };
}
