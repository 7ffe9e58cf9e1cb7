// Starting the provider plugins while the program loads (lib/provider-plugins.ts): the program's first
// call asks the engine for the azuread plugin (the Dynamics CRM lookup every app registration uses)
// and for the dynamic-provider host, and never fails the program; the app registrations of a program
// share that one lookup, unless one is given its own azuread provider.
import * as azuread from "@pulumi/azuread";
import { recordResources, valueOf } from "../support/pulumi-mocks";

const calls: { token: string; provider?: string }[] = [];
let failCalls = false;
const { byType } = recordResources({
  resourceState(args) {
    if (args.type === "azuread:index/application:Application") {
      return { id: `/applications/object-of-${args.name}`, state: { ...args.inputs, clientId: `client-of-${args.name}` } };
    }
    return undefined;
  },
  call(args) {
    calls.push({ token: args.token, provider: args.provider });
    if (failCalls) throw new Error(`no answer to ${args.token}`);
    if (args.token !== "azuread:index/getServicePrincipal:getServicePrincipal") return undefined;
    return { objectId: "crm-sp", clientId: args.inputs.clientId, oauth2PermissionScopeIds: { user_impersonation: "scope-1" } };
  },
});

// Imported after the mocks are in place.
import { startProviderPlugins } from "../../lib/provider-plugins";
import { AppRegistration } from "../../components/app-registration";

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
/** Waits until every resource of the app registration is registered (its secret's schedule is declared last). */
const declared = (app: AppRegistration) =>
  Promise.all([app.clientId, app.servicePrincipal.objectId, app.clientSecret, app.secretExpiresAt].map((output) => valueOf(output)));
const lookups = () => calls.filter((call) => call.token === "azuread:index/getServicePrincipal:getServicePrincipal");

test("a failed start (no credential, no Dynamics CRM, an engine without the host) fails nothing", async () => {
  failCalls = true;
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", record);
  try {
    startProviderPlugins();
    await settle();
  } finally {
    process.off("unhandledRejection", record);
    failCalls = false;
  }
  expect(calls.map((call) => call.token).sort()).toEqual([
    "azuread:index/getServicePrincipal:getServicePrincipal",
    "pulumi-nodejs:dynamic:startHost",
  ]);
  expect(unhandled).toEqual([]);
});

test("the app registrations of a program share one Dynamics CRM lookup through the default provider", async () => {
  calls.length = 0;
  // The failed lookup of the first test is not kept: the first app registration asks again.
  const apps = ["etl", "reports", "tests"].map(
    (name) => new AppRegistration(name, { displayName: name, marker: undefined, credential: { kind: "secret" } } as never),
  );
  await Promise.all(apps.map(declared));
  const requiredAccess = byType("application:Application").map((app) => JSON.stringify(app.inputs.requiredResourceAccesses));
  expect(requiredAccess).toHaveLength(3);
  expect(new Set(requiredAccess).size).toBe(1);
  expect(requiredAccess[0]).toContain("scope-1");
  expect(lookups()).toHaveLength(1);
});

test("an app registration given its own azuread provider looks the principal up through it", async () => {
  calls.length = 0;
  const provider = new azuread.Provider("sovereign", { tenantId: "tenant-2" });
  const app = new AppRegistration("sovereign-app", { displayName: "Sovereign", credential: { kind: "secret" } } as never, {
    providers: { azuread: provider },
  });
  await declared(app);
  expect(lookups()).toHaveLength(1);
  expect(lookups()[0].provider).toContain("sovereign");
});
