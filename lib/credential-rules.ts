/**
 * Pure rules for the credentials of an app registration: certificate PEMs, federated identity claims
 * and the presets for GitHub Actions and AKS. Plain values in, a problem (what is wrong and what to
 * do) or a plain value out: the config reader and the components both use them, nothing here knows
 * pulumi.Input.
 */
import { X509Certificate } from "node:crypto";

/** The audience Entra expects in every federated token. */
export const entraTokenExchangeAudience = "api://AzureADTokenExchange";
const githubActionsIssuer = "https://token.actions.githubusercontent.com";

/** Why `value` is not an azuread v6 application resource id, or undefined when it is one. */
export function applicationIdProblem(value: unknown): string | undefined {
  if (typeof value === "string" && /^\/applications\/[^/\s]+$/.test(value)) return undefined;
  return (
    `applicationId must be the application's resource id '/applications/<object id>' (azuread.Application's id), ` +
    `not '${String(value)}'; a bare GUID is the client id or object id, which azuread v6 does not take here.`
  );
}

/** What an uploaded certificate is, read from its PEM. */
export interface CertificateSummary {
  /** The PEM of the one certificate, normalized (trimmed, LF line ends). */
  readonly pem: string;
  readonly subject: string;
  /** ISO 8601. */
  readonly validFrom: string;
  /** ISO 8601: after this the credential stops working whatever endDate says. */
  readonly validTo: string;
  /** SHA-1 thumbprint, upper-case hex without separators, as the Entra portal shows it. */
  readonly thumbprint: string;
}

const pemBlockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Why `value` is not a single PEM public certificate, or undefined when it is one. */
export function certificatePemProblem(value: unknown): string | undefined {
  try {
    readCertificatePem(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Reads a PEM public certificate; throws an error saying what to change. Never echoes key material. */
export function readCertificatePem(value: unknown): CertificateSummary {
  const howTo =
    "give the public certificate only, in PEM form starting with '-----BEGIN CERTIFICATE-----' " +
    "(from a .pfx: 'openssl pkcs12 -in cert.pfx -clcerts -nokeys -out cert.pem'), stored as a config secret";
  if (typeof value !== "string" || value.trim() === "") throw new Error(`The certificate is empty; ${howTo}.`);
  const text = value.replace(/\r\n/g, "\n").trim();
  const blocks = [...text.matchAll(pemBlockPattern)].map((match) => ({ label: match[1], body: match[2] }));
  if (blocks.some((block) => /PRIVATE KEY/.test(block.label))) {
    throw new Error(`The certificate PEM holds a private key; remove it and never put it in config or in Entra: ${howTo}.`);
  }
  const certificates = blocks.filter((block) => block.label === "CERTIFICATE");
  if (certificates.length === 0) {
    if (/-----BEGIN /.test(text))
      throw new Error(
        `The PEM holds no '-----BEGIN CERTIFICATE-----' block (found ${blocks.map((b) => b.label).join(", ") || "an unterminated block"}); ${howTo}.`,
      );
    throw new Error(
      `The certificate is not PEM (no '-----BEGIN CERTIFICATE-----' line); base64 DER or a PFX file are not accepted here: ${howTo}.`,
    );
  }
  if (certificates.length > 1) {
    throw new Error(
      `The PEM holds ${certificates.length} certificates (a chain?); Entra takes one: keep only the first, the application's own certificate.`,
    );
  }
  if (blocks.length > 1)
    throw new Error(`The PEM holds other blocks besides the certificate (${blocks.map((b) => b.label).join(", ")}); ${howTo}.`);
  const pem = `-----BEGIN CERTIFICATE-----\n${certificates[0].body.trim()}\n-----END CERTIFICATE-----\n`;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new Error(`The '-----BEGIN CERTIFICATE-----' block is not a readable X.509 certificate (damaged when pasted?); ${howTo}.`);
  }
  return {
    pem,
    subject: certificate.subject,
    validFrom: new Date(certificate.validFrom).toISOString(),
    validTo: new Date(certificate.validTo).toISOString(),
    thumbprint: certificate.fingerprint.replace(/:/g, "").toUpperCase(),
  };
}

/**
 * Why `endDate` cannot end a credential for `certificate`, or undefined when it can: an RFC 3339
 * date inside the certificate's validity (Entra refuses a credential that outlives its certificate).
 */
export function certificateEndDateProblem(endDate: unknown, certificate: CertificateSummary): string | undefined {
  const end = typeof endDate === "string" && /^\d{4}-\d{2}-\d{2}T/.test(endDate) ? Date.parse(endDate) : NaN;
  if (Number.isNaN(end)) return `endDate '${String(endDate)}' is not an RFC 3339 date such as 2027-01-31T00:00:00Z.`;
  if (end > Date.parse(certificate.validTo))
    return `endDate ${String(endDate)} is after the certificate expires (${certificate.validTo}); leave endDate out or set it no later than that.`;
  if (end <= Date.parse(certificate.validFrom))
    return `endDate ${String(endDate)} is before the certificate becomes valid (${certificate.validFrom}).`;
  return undefined;
}

const maxClaimLength = 600;
const credentialNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$/;

export function issuerProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "")
    return "issuer is required: the identity provider's URL, e.g. https://token.actions.githubusercontent.com.";
  if (value.length > maxClaimLength) return `issuer is ${value.length} characters; Entra allows ${maxClaimLength}.`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `issuer '${value}' is not a URL; use the identity provider's issuer URL exactly as it appears in its tokens' 'iss' claim.`;
  }
  if (url.protocol !== "https:") return `issuer '${value}' must use https (Entra fetches the provider's keys from it).`;
  if (/\s/.test(value)) return `issuer '${value}' contains white space; copy it exactly from the 'iss' claim.`;
  return undefined;
}

export function subjectProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "")
    return "subject is required: the workload's identifier, equal to the 'sub' claim of its tokens.";
  if (value.length > maxClaimLength) return `subject is ${value.length} characters; Entra allows ${maxClaimLength}.`;
  if (value !== value.trim()) return `subject '${value}' has leading or trailing white space; the 'sub' claim must match exactly.`;
  if (value.includes("*"))
    return `subject '${value}' contains '*'; Entra matches the subject exactly, wildcards are not supported: list one credential per subject.`;
  return undefined;
}

export function audiencesProblem(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length !== 1 || typeof value[0] !== "string" || value[0] === "" || value[0].length > maxClaimLength) {
    return `audiences must hold exactly one value of at most ${maxClaimLength} characters (Entra's rule); leave it out for the default '${entraTokenExchangeAudience}'.`;
  }
  return undefined;
}

export function credentialNameProblem(value: unknown): string | undefined {
  if (typeof value === "string" && credentialNamePattern.test(value)) return undefined;
  return `displayName '${String(value)}' must be 1 to 120 letters, digits, dashes or underscores, starting with a letter or digit (it is part of a URL in Graph and unique per app).`;
}

/** A valid credential name made from any text (used for defaults). */
export function credentialNameFrom(text: string): string {
  const name = text
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 120)
    .replace(/-+$/, "");
  return name === "" ? "federated" : name;
}

// GitHub's rules: owners are 1-39 letters, digits and single inner dashes; repositories 1-100 of letters, digits, . _ -.
const githubOwnerPattern = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const githubRepoPattern = /^[A-Za-z0-9._-]{1,100}$/;

/** Which runs of a GitHub Actions workflow may sign in: exactly one of the selectors. */
interface GitHubActionsFederationArgs {
  /** The user or organization owning the repository. */
  readonly owner: string;
  /** The repository name, without the owner. */
  readonly repo: string;
  /** Jobs that run in this deployment environment (`environment:` in the workflow). */
  readonly environment?: string;
  /** Jobs that run for pushes to this branch (without 'refs/heads/'). */
  readonly branch?: string;
  /** Jobs that run for this tag (without 'refs/tags/'). */
  readonly tag?: string;
  /** Jobs that run for pull requests. */
  readonly pullRequest?: boolean;
  readonly displayName?: string;
}

/** The issuer and subject for a GitHub Actions workflow (default subject claim format). */
export function githubActionsFederation(args: GitHubActionsFederationArgs): FederatedIdentityValues {
  const where = `GitHub Actions federation for '${args.owner}/${args.repo}'`;
  if (typeof args.owner !== "string" || !githubOwnerPattern.test(args.owner)) {
    throw new Error(
      `${where}: owner must be a GitHub user or organization name (letters, digits, single dashes, at most 39), without 'https://github.com/'.`,
    );
  }
  if (typeof args.repo !== "string" || !githubRepoPattern.test(args.repo) || args.repo === "." || args.repo === "..") {
    throw new Error(
      `${where}: repo must be the repository name alone (letters, digits, '.', '_', '-'), e.g. 'etl-jobs', not 'owner/repo' or a URL.`,
    );
  }
  const selectors = (["environment", "branch", "tag", "pullRequest"] as const).filter(
    (key) => args[key] !== undefined && args[key] !== false,
  );
  if (selectors.length !== 1) {
    throw new Error(
      `${where}: give exactly one of environment, branch, tag or pullRequest: true (given: ${selectors.join(", ") || "none"}); ` +
        "an environment is the safest, since GitHub can require reviewers before its jobs run.",
    );
  }
  const gitRef = (value: string, key: "branch" | "tag", refPrefix: string): string => {
    if (value.startsWith("refs/")) throw new Error(`${where}: ${key} '${value}' must be the bare name; drop the '${refPrefix}' prefix.`);
    if (value === "" || /[\s~^:?*[\\]|\.\.|@\{|^\/|\/$|\.lock$|^-/.test(value)) {
      throw new Error(
        `${where}: ${key} '${value}' is not a valid git ${key} name; give it exactly as in git (wildcards are not supported by Entra).`,
      );
    }
    return `ref:${refPrefix}${value}`;
  };
  let selector: string;
  if (args.environment !== undefined) {
    if (
      args.environment.trim() === "" ||
      args.environment !== args.environment.trim() ||
      args.environment.length > 255 ||
      /[:*]/.test(args.environment)
    ) {
      throw new Error(
        `${where}: environment '${args.environment}' must be the GitHub environment's name exactly: 1 to 255 characters, no ':' or '*', no surrounding spaces.`,
      );
    }
    selector = `environment:${args.environment}`;
  } else if (args.branch !== undefined) selector = gitRef(args.branch, "branch", "refs/heads/");
  else if (args.tag !== undefined) selector = gitRef(args.tag, "tag", "refs/tags/");
  else selector = "pull_request";
  return {
    issuer: githubActionsIssuer,
    subject: `repo:${args.owner}/${args.repo}:${selector}`,
    audiences: [entraTokenExchangeAudience],
    displayName:
      args.displayName ?? credentialNameFrom(`github-${args.owner}-${args.repo}-${selector.replace(/^ref:refs\/(heads|tags)\//, "")}`),
  };
}

// Kubernetes names: a namespace is a DNS label; a service account a DNS subdomain.
const dnsLabelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const dnsSubdomainPattern = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/** A Kubernetes service account in an AKS cluster with workload identity enabled. */
export interface AksServiceAccount {
  /** The service account's namespace. */
  readonly namespace: string;
  /** The service account's name. */
  readonly serviceAccount: string;
  readonly displayName?: string;
}

/** The issuer and subject a federated credential trusts, as plain values. */
interface FederatedIdentityValues {
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: string[];
  readonly displayName: string;
}

/** How errors about one AKS service account start. */
export function aksFederationContext(account: AksServiceAccount): string {
  return `AKS workload identity federation for '${account.namespace}/${account.serviceAccount}'`;
}

/** Subject, audience and display name for a service account; throws when the names are not Kubernetes names. */
export function aksServiceAccountIdentity(account: AksServiceAccount): Omit<FederatedIdentityValues, "issuer"> {
  const where = aksFederationContext(account);
  if (typeof account.namespace !== "string" || !dnsLabelPattern.test(account.namespace)) {
    throw new Error(`${where}: namespace must be a Kubernetes namespace name (1 to 63 lower-case letters, digits and dashes).`);
  }
  if (typeof account.serviceAccount !== "string" || !dnsSubdomainPattern.test(account.serviceAccount)) {
    throw new Error(
      `${where}: serviceAccount must be a Kubernetes service account name (lower-case letters, digits, '-' and '.'), not '${String(account.serviceAccount)}'.`,
    );
  }
  return {
    subject: `system:serviceaccount:${account.namespace}:${account.serviceAccount}`,
    audiences: [entraTokenExchangeAudience],
    displayName: account.displayName ?? credentialNameFrom(`aks-${account.namespace}-${account.serviceAccount}`),
  };
}

/** Why `value` is not a usable AKS OIDC issuer URL, or undefined when it is one. */
export function aksOidcIssuerProblem(value: unknown): string | undefined {
  const problem = issuerProblem(value);
  const howTo = "Get it with 'az aks show -g <rg> -n <cluster> --query oidcIssuerProfile.issuerUrl -o tsv'.";
  if (problem) return `${problem.replace(/^issuer/, "oidcIssuerUrl")} ${howTo}`;
  const url = String(value);
  // AKS issuers end with '/', and so does the 'iss' claim Entra compares them with, character for character.
  if (/\.oic\.prod-aks\.azure\.(com|us|cn)$/i.test(new URL(url).hostname) && !url.endsWith("/")) {
    return `oidcIssuerUrl '${url}' lacks the trailing '/' that AKS issuer URLs carry; add it, or tokens will not match. ${howTo}`;
  }
  return undefined;
}

/** The issuer and subject for pods running as a service account under AKS workload identity (plain values). */
export function aksWorkloadIdentityPreset(args: AksServiceAccount & { readonly oidcIssuerUrl: string }): FederatedIdentityValues {
  const identity = aksServiceAccountIdentity(args);
  const problem = aksOidcIssuerProblem(args.oidcIssuerUrl);
  if (problem) throw new Error(`${aksFederationContext(args)}: ${problem}`);
  return { issuer: args.oidcIssuerUrl, ...identity };
}
