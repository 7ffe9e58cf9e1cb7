/**
 * The offline stand-in for the azuread provider plugin: a Provider object for
 * @pulumi/pulumi/provider's `main`, dispatching on the type token. Only what this project uses is
 * implemented; any other token fails with a message that says so.
 */
import type { CheckResult, CreateResult, DiffResult, InvokeResult, Provider, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { AzureadConfig, capturedConfig } from "./config";
import { ConsistencyTiming, defaultTiming, KeyedLock } from "./consistency";
import { GraphSession } from "./graph";
import { ProviderContext, ResourceHandler } from "./resource";
import { application, applicationToken } from "./resources/application";
import { applicationCertificate, applicationCertificateToken } from "./resources/applicationCertificate";
import { federatedIdentityCredential, federatedIdentityCredentialToken } from "./resources/applicationFederatedIdentityCredential";
import { applicationPassword, applicationPasswordToken } from "./resources/applicationPassword";
import { getServicePrincipal, getServicePrincipalToken } from "./resources/getServicePrincipal";
import { servicePrincipal, servicePrincipalToken } from "./resources/servicePrincipal";
import { delegatedPermissionGrant, delegatedPermissionGrantToken } from "./resources/servicePrincipalDelegatedPermissionGrant";
import { Plain, unwrapSecrets } from "./values";

/** The version of the SDK the stand-in answers for: the engine asks for exactly this plugin version. */
export const providerVersion: string = require("@pulumi/azuread/package.json").version;

const handlers: Record<string, ResourceHandler> = {
  [applicationToken]: application,
  [servicePrincipalToken]: servicePrincipal,
  [applicationPasswordToken]: applicationPassword,
  [delegatedPermissionGrantToken]: delegatedPermissionGrant,
  [applicationCertificateToken]: applicationCertificate,
  [federatedIdentityCredentialToken]: federatedIdentityCredential,
};

export const supportedTypes = Object.keys(handlers);
export const supportedFunctions = [getServicePrincipalToken];

export interface AzureadProviderOptions {
  /** Where the configuration comes from; default: the last Configure call, then ARM_* variables. */
  readonly config?: () => AzureadConfig;
  readonly timing?: ConsistencyTiming;
  /** Retry notices; nothing secret is ever passed. Default: stderr (the engine's plugin log). */
  readonly log?: (message: string) => void;
}

/** "urn:pulumi:stack::project::azuread:index/application:Application::name" -> the type token. */
export function typeOfUrn(urn: string): string {
  const qualifiedType = urn.split("::")[2] ?? "";
  return qualifiedType.split("$").pop() ?? "";
}

function handlerFor(urn: string): ResourceHandler {
  const token = typeOfUrn(urn);
  const handler = handlers[token];
  if (!handler) {
    throw new Error(
      `the offline azuread stand-in does not implement ${token}; it implements ${supportedTypes.join(", ")}. ` +
        `Use the real pulumi-resource-azuread plugin for other resources.`,
    );
  }
  return handler;
}

export function createAzureadProvider(options: AzureadProviderOptions = {}): Provider {
  const log = options.log ?? ((message: string) => process.stderr.write(`azuread (offline stand-in): ${message}\n`));
  let opened: Promise<GraphSession> | undefined;
  const context: ProviderContext = {
    // Opened on first use: Configure has run by then. A failed sign-in is retried on the next call.
    session: () => {
      opened ??= GraphSession.open((options.config ?? capturedConfig)(), { log }).catch((error) => {
        opened = undefined;
        throw error;
      });
      return opened;
    },
    timing: options.timing ?? defaultTiming,
    applicationLocks: new KeyedLock(),
  };

  return {
    version: providerVersion,

    async check(urn: string, olds: Plain, news: Plain): Promise<CheckResult> {
      return handlerFor(urn).check(olds ?? {}, news ?? {});
    },

    async diff(id: string, urn: string, olds: Plain, news: Plain): Promise<DiffResult> {
      return handlerFor(urn).diff(id, olds ?? {}, news ?? {});
    },

    async create(urn: string, inputs: Plain): Promise<CreateResult> {
      return handlerFor(urn).create(context, unwrapSecrets<Plain>(inputs ?? {}));
    },

    async read(id: string, urn: string, props?: Plain): Promise<ReadResult> {
      return handlerFor(urn).read(context, id, props ?? {});
    },

    async update(id: string, urn: string, olds: Plain, news: Plain): Promise<UpdateResult> {
      return handlerFor(urn).update(context, id, unwrapSecrets<Plain>(olds ?? {}), unwrapSecrets<Plain>(news ?? {}));
    },

    async delete(id: string, urn: string, props: Plain): Promise<void> {
      return handlerFor(urn).delete(context, id, props ?? {});
    },

    async invoke(token: string, inputs: Plain): Promise<InvokeResult> {
      if (token === getServicePrincipalToken) return getServicePrincipal(context, inputs ?? {});
      throw new Error(
        `the offline azuread stand-in does not implement the function ${token}; it implements ${supportedFunctions.join(", ")}`,
      );
    },
  };
}
