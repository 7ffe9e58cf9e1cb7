/**
 * The offline stand-in for pulumi-resource-azure-native (v3): a Provider object for
 * @pulumi/pulumi/provider's `main`, serving only the types in resources.ts, with the behaviour of the
 * real provider's generic ARM resources (provider/pkg/provider/provider.go, crud/crud.go, diff.go):
 *
 * - Check: the name parameter auto-named when left out; `location` defaulted (old inputs, then
 *   `azure-native:location`, then the resource group's location); `azureApiVersion` defaulted to the
 *   type's API version; required parameters, patterns and types checked (failures, nothing written).
 * - Diff: old inputs against new inputs; a path parameter (and `location`) forces a replacement,
 *   deleted before its replacement is made unless it was auto-named; locations compare without case
 *   and spaces.
 * - Create: GET first (an existing resource fails the create), PUT, then a read of what was written;
 *   the id is the ARM id the answer gives. Update: PUT, then a read. Outputs are the response in SDK
 *   shape with `azureApiVersion`.
 * - Read: GET; a 404 answers an empty id (gone); inputs are the old inputs with what changed in Azure.
 * - Delete: ARM DELETE (404 is done), or the Key Vault data plane for a secret.
 * - Previews call nothing.
 */
import type {
  CheckFailure,
  CheckResult,
  CreateResult,
  DiffResult,
  InvokeResult,
  Provider,
  ReadResult,
  UpdateResult,
} from "@pulumi/pulumi/provider";
import { createHash } from "crypto";
import { isMicrosoftAuthorityHost } from "../../lib/credentials";
import { ArmClient, ArmTiming, goPathEscape, isNotFound } from "./arm";
import { ArmCloud, resolveCloud } from "./cloud";
import { AzureNativeConfig, capturedConfig } from "./config";
import { deleteKeyVaultSecret, vaultAddress } from "./keyvault-data-plane";
import { requestExtras } from "./request-extras";
import { parseResourceId, resourceId, ResourceSpec, resourceSpecs } from "./resources";
import { containsUnknown, Plain, unknownValue, unwrapSecrets } from "../shared/values";

/** The version of the SDK the stand-in answers for: the engine asks for exactly this plugin version. */
export const providerVersion: string = require("@pulumi/azure-native/package.json").version;

export const supportedTypes = Object.keys(resourceSpecs);

/** provider.go: `createBeforeDeleteFlag`, set on inputs whose name was made up at random. */
const createBeforeDeleteFlag = "__createBeforeDelete";
/** provider.go: `apiVersionResources`, the API version of resource group reads (auto-location). */
const resourceGroupApiVersion = "2020-10-01";
/** provider.go: `PulumiPartnerID`, in the User-Agent of every ARM call. */
const pulumiPartnerId = "a90539d8-a7a6-5826-95c4-1fbef22d4b22";

/** "urn:pulumi:stack::project::azure-native:keyvault:Secret::name" -> the type token. */
export function typeOfUrn(urn: string): string {
  const qualifiedType = urn.split("::")[2] ?? "";
  return qualifiedType.split("$").pop() ?? "";
}

function nameOfUrn(urn: string): string {
  const parts = urn.split("::");
  return parts[parts.length - 1] ?? "";
}

function specFor(urn: string): ResourceSpec {
  const token = typeOfUrn(urn);
  const spec = resourceSpecs[token];
  if (!spec) {
    // lookupResourceFromURN's answer, with what the stand-in serves.
    throw new Error(
      `Resource type ${token} not found: the offline azure-native stand-in implements ${supportedTypes.join(", ")}. ` +
        `Use the real pulumi-resource-azure-native plugin for other resources.`,
    );
  }
  return spec;
}

/**
 * getDefaultName's "random" strategy: the URN's name and 8 hex characters, the same for the same
 * random seed. (The real provider draws them with frand seeded by SHA-256 of the seed; these come
 * from SHA-256 of the seed itself: the same shape, other characters.)
 */
export function randomName(urnName: string, randomSeed: Uint8Array | undefined): string {
  const seed = randomSeed && randomSeed.length > 0 ? randomSeed : Buffer.from(String(Math.random()));
  return urnName + createHash("sha256").update(seed).digest("hex").slice(0, 8);
}

/** Azure locations compare without case and spaces (diff.go normalizedLocation). */
export const normalizedLocation = (location: string) => location.replace(/ /g, "").toLowerCase();

/** Check's validation of the inputs against the PUT parameters (validateType, validateProperty). */
export function checkFailures(spec: ResourceSpec, inputs: Plain): CheckFailure[] {
  const failures: string[] = [];
  for (const parameter of spec.pathParameters) {
    const value = inputs[parameter.name];
    if (value === undefined || value === null) {
      failures.push(`missing required property '${parameter.name}'`);
      continue;
    }
    if (containsUnknown(value)) continue;
    const text = unwrapSecrets(value);
    if (typeof text !== "string") {
      failures.push(`'${parameter.name}' should be of type 'string' but got a ${typeof text}`);
      continue;
    }
    if (parameter.minLength !== undefined && text.length < parameter.minLength) {
      failures.push(`'${parameter.name}' is too short (${text.length}): at least ${parameter.minLength} characters required`);
    }
    if (parameter.maxLength !== undefined && text.length > parameter.maxLength) {
      failures.push(`'${parameter.name}' is too long (${text.length}): at most ${parameter.maxLength} characters allowed`);
    }
    if (parameter.pattern && !parameter.pattern.test(text)) {
      failures.push(`'${parameter.name}' does not match expression '${parameter.pattern.source}'`);
    }
  }
  for (const name of spec.requiredInputs) {
    if (inputs[name] === undefined || inputs[name] === null) {
      let reason = `missing required property '${name}'`;
      if (name === "location")
        reason += ". Either set it explicitly or configure it with 'pulumi config set azure-native:location <value>'.";
      failures.push(reason);
    }
  }
  const known: Plain = {};
  for (const [key, value] of Object.entries(inputs)) if (!containsUnknown(value)) known[key] = unwrapSecrets(value);
  failures.push(...spec.validate(known));
  return failures.map((reason) => ({ property: "", reason }));
}

/**
 * Diff (provider.go Diff, diff.go calculateDetailedDiff): the old inputs against the new, key by key;
 * an unknown new value is a change; a path parameter, or `location` where the body has one (its
 * x-ms-mutability has no "update"), forces a replacement.
 */
export function diffInputs(spec: ResourceSpec, oldInputs: Plain, news: Plain): DiffResult {
  const replaceKeys = new Set(spec.pathParameters.map((parameter) => parameter.name));
  if (spec.location) replaceKeys.add("location");
  const keys = new Set([...Object.keys(oldInputs), ...Object.keys(news)].filter((key) => key !== createBeforeDeleteFlag));
  const changed: string[] = [];
  for (const key of keys) {
    const before = oldInputs[key];
    const after = news[key];
    if (containsUnknown(after)) {
      changed.push(key);
      continue;
    }
    const left = unwrapSecrets(before);
    const right = unwrapSecrets(after);
    if (key === "location" && typeof left === "string" && typeof right === "string") {
      if (normalizedLocation(left) !== normalizedLocation(right)) changed.push(key);
      continue;
    }
    if (!deepEqual(left, right)) changed.push(key);
  }
  const replaces = changed.filter((key) => replaceKeys.has(key));
  const autoNamed = unwrapSecrets(oldInputs[createBeforeDeleteFlag]) === true;
  return { changes: changed.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 && !autoNamed };
}

/** Strict structural equality (resource.PropertyMap.Diff: an empty string is not an absent value). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => deepEqual((a as Plain)[key], (b as Plain)[key]));
  }
  return false;
}

/**
 * Read's inputs (provider.go Read, diff.go applyDiff): the old inputs, with each property whose
 * projection changed between the old and the new outputs taken from the new outputs (objects
 * property by property), and a property gone from the outputs dropped.
 */
export function refreshedInputs(oldInputs: Plain, oldProjection: Plain, newProjection: Plain): Plain {
  const result: Plain = { ...oldInputs };
  const keys = new Set([...Object.keys(oldProjection), ...Object.keys(newProjection)]);
  for (const key of keys) {
    const before = oldProjection[key];
    const after = newProjection[key];
    if (deepEqual(before, after)) continue;
    if (after === undefined) {
      delete result[key];
      continue;
    }
    const base = unwrapSecrets(oldInputs[key]);
    const isObject = (value: unknown): value is Plain => !!value && typeof value === "object" && !Array.isArray(value);
    result[key] = isObject(base) && isObject(before) && isObject(after) ? refreshedInputs(base, before, after) : after;
  }
  return result;
}

export interface AzureNativeProviderOptions {
  /** Where the configuration comes from; default: the last Configure call, then ARM_* variables. */
  readonly config?: () => AzureNativeConfig;
  readonly timing?: ArmTiming;
  readonly log?: (message: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Replaces the client-secret sign-in (tests against a fake ARM). */
  readonly credential?: import("@azure/identity").TokenCredential;
}

interface Session {
  readonly arm: ArmClient;
  readonly cloud: ArmCloud;
  readonly config: AzureNativeConfig;
  readonly subscriptionId: string;
  readonly credential: import("@azure/identity").TokenCredential;
}

export function createAzureNativeProvider(options: AzureNativeProviderOptions = {}): Provider {
  const log = options.log ?? ((message: string) => process.stderr.write(`azure-native (offline stand-in): ${message}\n`));
  const resourceGroupLocations = new Map<string, string>();
  let opened: Promise<Session> | undefined;

  const open = async (): Promise<Session> => {
    const config = (options.config ?? capturedConfig)();
    // newSingleMethodAuthCredential, client secret branch: its three checks, in its words.
    const message = "A %s must be configured when authenticating as a Service Principal using a Client Secret.";
    if (!config.clientSecret) {
      throw new Error(
        "azure-native (offline stand-in): only client-secret sign-in is supported; set azure-native:clientSecret (or ARM_CLIENT_SECRET)",
      );
    }
    if (!config.subscriptionId) throw new Error(message.replace("%s", "Subscription ID"));
    if (!config.tenantId) throw new Error(message.replace("%s", "Tenant ID"));
    if (!config.clientId) throw new Error(message.replace("%s", "Client ID"));
    const cloud = await resolveCloud(config);
    const identity: typeof import("@azure/identity") = require("@azure/identity");
    const credential =
      options.credential ??
      new identity.ClientSecretCredential(config.tenantId, config.clientId, config.clientSecret, {
        authorityHost: cloud.loginEndpoint,
        disableInstanceDiscovery: !isMicrosoftAuthorityHost(cloud.loginEndpoint),
      });
    const arm = new ArmClient({
      endpoint: cloud.resourceManager,
      scope: `${cloud.audience}/.default`,
      credential,
      userAgent: `pid-${pulumiPartnerId} pulumi-azure-native/${providerVersion} (offline stand-in)`,
      timing: options.timing,
      log,
      sleep: options.sleep,
    });
    return { arm, cloud, config, subscriptionId: config.subscriptionId, credential };
  };
  // Opened on first use: Configure has run by then. A failed sign-in is retried on the next call.
  const session = () =>
    (opened ??= open().catch((error) => {
      opened = undefined;
      throw error;
    }));

  /** getDefaultLocation: old inputs, then azure-native:location, then the resource group's location. */
  const defaultLocation = async (olds: Plain, news: Plain): Promise<unknown> => {
    if (olds.location !== undefined) return olds.location;
    const config = (options.config ?? capturedConfig)();
    if (config.location) return config.location;
    const group = news.resourceGroupName;
    if (group === undefined) return undefined;
    if (containsUnknown(group)) return unknownValue;
    const name = String(unwrapSecrets(group));
    const cached = resourceGroupLocations.get(name);
    if (cached) return cached;
    try {
      const { arm, subscriptionId } = await session();
      const response = await arm.get(
        `/subscriptions/${subscriptionId}/resourceGroups/${name}`,
        resourceGroupApiVersion,
        `look up the location of resource group ${name}`,
      );
      if (typeof response.location !== "string") return undefined;
      resourceGroupLocations.set(name, response.location);
      return response.location;
    } catch {
      // The real provider logs and goes on; Check then reports the missing location.
      return undefined;
    }
  };

  const outputsOf = (spec: ResourceSpec, response: Plain): Plain => ({ ...spec.toOutputs(response), azureApiVersion: spec.apiVersion });

  /** readAfterWrite: the resource as GET shows it; a failed read keeps the PUT's answer, with a warning. */
  const readAfterWrite = async (arm: ArmClient, spec: ResourceSpec, id: string, written: Plain, what: string): Promise<Plain> => {
    try {
      return await arm.get(id, spec.apiVersion, `read ${id} after ${what}`);
    } catch (error) {
      log(`warning: Failed to read resource after ${what}: ${(error as Error).message}`);
      return written;
    }
  };

  return {
    version: providerVersion,

    async check(urn: string, olds: Plain, news: Plain): Promise<CheckResult> {
      const spec = specFor(urn);
      const previous = olds ?? {};
      const inputs: Plain = { ...(news ?? {}) };
      for (const parameter of spec.pathParameters) {
        if (!parameter.autoName || (inputs[parameter.name] !== undefined && inputs[parameter.name] !== null)) continue;
        if (previous[parameter.name] !== undefined) {
          inputs[parameter.name] = previous[parameter.name];
          if (typeof previous[createBeforeDeleteFlag] === "boolean") inputs[createBeforeDeleteFlag] = previous[createBeforeDeleteFlag];
        } else {
          inputs[parameter.name] = randomName(nameOfUrn(urn), requestExtras().randomSeed);
          inputs[createBeforeDeleteFlag] = true;
        }
      }
      if (spec.location && (inputs.location === undefined || inputs.location === null)) {
        const location = await defaultLocation(previous, inputs);
        if (location !== undefined) inputs.location = location;
      }
      if (inputs.azureApiVersion === undefined || inputs.azureApiVersion === null) inputs.azureApiVersion = spec.apiVersion;
      return { inputs, failures: checkFailures(spec, inputs) };
    },

    async diff(_id: string, urn: string, olds: Plain, news: Plain): Promise<DiffResult> {
      const spec = specFor(urn);
      const oldInputs = requestExtras().oldInputs ?? {};
      // v2-to-v3: an old state's azureApiVersion stands in for the missing input.
      const previous =
        oldInputs.azureApiVersion === undefined && olds?.azureApiVersion !== undefined
          ? { ...oldInputs, azureApiVersion: olds.azureApiVersion }
          : oldInputs;
      return diffInputs(spec, previous, news ?? {});
    },

    async create(urn: string, inputs: Plain): Promise<CreateResult> {
      const spec = specFor(urn);
      if (requestExtras().preview) {
        // PreviewOutputs: the inputs, every other output unknown until the resource exists.
        return { id: "", outs: previewOutputs(spec, inputs ?? {}) };
      }
      const plain = unwrapSecrets<Plain>(inputs ?? {});
      const { arm, subscriptionId } = await session();
      let id = resourceId(spec, subscriptionId, plain, goPathEscape);
      await arm.canCreate(id, spec.apiVersion);
      const written = await arm.put(id, spec.toBody(plain), spec.apiVersion, false, `create ${id}`);
      if (typeof written.id === "string" && written.id) id = written.id;
      const response = await readAfterWrite(arm, spec, id, written, "Create");
      return { id, outs: outputsOf(spec, response) };
    },

    async read(id: string, urn: string, props?: Plain): Promise<ReadResult> {
      const spec = specFor(urn);
      const { arm } = await session();
      let response: Plain;
      try {
        response = await arm.get(id, spec.apiVersion);
      } catch (error) {
        // 404 means that the resource was deleted.
        if (isNotFound(error)) return { id: "" };
        throw error;
      }
      const outputs = outputsOf(spec, response);
      const oldInputs = requestExtras().oldInputs;
      let inputs: Plain;
      if (oldInputs === undefined || Object.keys(oldInputs).length === 0) {
        // An import: the inputs from the id and the response (ResponseToSdkInputs).
        const pathValues = parseResourceId(spec, id);
        if (!pathValues) throw new Error(`azure-native (offline stand-in): '${id}' is not an id of ${spec.token} (${spec.path})`);
        delete pathValues.subscriptionId;
        inputs = { ...pathValues, ...spec.outputsToInputs(outputs) };
      } else {
        inputs = refreshedInputs(oldInputs, spec.outputsToInputs(unwrapSecrets<Plain>(props ?? {})), spec.outputsToInputs(outputs));
      }
      return { id, props: outputs, inputs };
    },

    async update(id: string, urn: string, olds: Plain, news: Plain): Promise<UpdateResult> {
      const spec = specFor(urn);
      if (requestExtras().preview) {
        // The inputs, and the outputs that cannot change (name, location) from the old state.
        const outs = previewOutputs(spec, news ?? {});
        for (const key of ["name", "location"]) if (olds?.[key] !== undefined) outs[key] = olds[key];
        return { outs };
      }
      const plain = unwrapSecrets<Plain>(news ?? {});
      const { arm, subscriptionId } = await session();
      const target = resourceId(spec, subscriptionId, plain, goPathEscape);
      const written = await arm.put(target, spec.toBody(plain), spec.apiVersion, false, `update ${target}`);
      const response = await readAfterWrite(arm, spec, target, written, "Update");
      void id;
      return { outs: outputsOf(spec, response) };
    },

    async delete(id: string, urn: string): Promise<void> {
      const spec = specFor(urn);
      const { arm, cloud, credential } = await session();
      if (spec.deleteThroughKeyVault) {
        const inputs = unwrapSecrets<Plain>(requestExtras().oldInputs ?? {});
        if (typeof inputs.vaultName !== "string") throw new Error("vaultName not found in resource state");
        if (typeof inputs.secretName !== "string") throw new Error("secretName not found in resource state");
        const vaultName = inputs.vaultName;
        // Offline only (no Key Vault suffix): the vault's address from ARM; the vault is the secret id's parent.
        const vault = await vaultAddress(cloud.keyVaultDnsSuffix, vaultName, async () => {
          const vaultId = id.replace(/\/secrets\/[^/]+$/i, "");
          try {
            const response = await arm.get(vaultId, spec.apiVersion, `look up the address of vault ${vaultName}`);
            const properties = (response.properties ?? {}) as Plain;
            if (typeof properties.vaultUri !== "string")
              throw new Error(`azure-native (offline stand-in): ${vaultId} has no properties.vaultUri`);
            return properties.vaultUri;
          } catch (error) {
            // No vault, no secret: already gone.
            if (isNotFound(error)) return undefined;
            throw error;
          }
        });
        if (vault === undefined) return;
        await deleteKeyVaultSecret({ credential, vault, log, sleep: options.sleep }, vaultName, inputs.secretName);
        return;
      }
      await arm.delete(id, spec.apiVersion);
    },

    async invoke(token: string): Promise<InvokeResult> {
      throw new Error(`Invoke type ${token} not found: the offline azure-native stand-in implements no functions`);
    },
  };
}

/**
 * PreviewOutputs (convert): the inputs in output shape with every output the response would add
 * unknown: the outputs of an empty response, each unknown, under the inputs' own values.
 */
export function previewOutputs(spec: ResourceSpec, inputs: Plain): Plain {
  const outs: Plain = { ...inputs };
  for (const parameter of spec.pathParameters) delete outs[parameter.name];
  delete outs[createBeforeDeleteFlag];
  for (const path of ["id", "name", "type", ...spec.computedOutputs]) {
    const keys = path.split(".");
    let target = outs;
    for (const key of keys.slice(0, -1)) {
      const inner = unwrapSecrets(target[key]);
      if (!inner || typeof inner !== "object" || Array.isArray(inner)) break;
      target = target[key] = { ...(inner as Plain) };
    }
    target[keys[keys.length - 1]] = unknownValue;
  }
  outs.azureApiVersion = spec.apiVersion;
  return outs;
}
