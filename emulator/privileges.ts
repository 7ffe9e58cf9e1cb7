// The privilege catalogue of the emulated environment: ~130 tables x the 8 access rights, plus
// miscellaneous privileges. Generated, not stored: names and GUIDs are the same in every run.
import { createHash } from "node:crypto";

export interface Privilege {
  privilegeid: string;
  name: string;
  accessright: number;
  canbebasic: boolean;
  canbelocal: boolean;
  canbedeep: boolean;
  canbeglobal: boolean;
  /** Entity-reference depths of newer privilege rows; no privilege of the catalogue allows them. */
  canbeentityreference: boolean;
  canbeparententityreference: boolean;
}

/** Depth names as Dataverse returns them; the index is the numeric value. */
export const DEPTH_NAMES = ["Basic", "Local", "Deep", "Global", "RecordFilter"] as const;

/** Access rights and their AccessRights flag values. */
const ACCESS: ReadonlyArray<[string, number]> = [
  ["Create", 32],
  ["Read", 1],
  ["Write", 2],
  ["Delete", 65536],
  ["Append", 4],
  ["AppendTo", 16],
  ["Assign", 524288],
  ["Share", 262144],
];

/** Table names as they appear in privilege names (systemuser is "User", annotation is "Note"). */
const TABLES = [
  "Account",
  "Contact",
  "Lead",
  "Opportunity",
  "Quote",
  "SalesOrder",
  "Invoice",
  "Incident",
  "Contract",
  "Campaign",
  "CampaignActivity",
  "CampaignResponse",
  "List",
  "Product",
  "PriceLevel",
  "Discount",
  "DiscountType",
  "Competitor",
  "Activity",
  "Task",
  "Email",
  "PhoneCall",
  "Appointment",
  "Letter",
  "Fax",
  "ServiceAppointment",
  "RecurringAppointmentMaster",
  "Note",
  "Goal",
  "GoalRollupQuery",
  "Metric",
  "Territory",
  "Equipment",
  "Service",
  "Site",
  "Team",
  "User",
  "Role",
  "BusinessUnit",
  "Queue",
  "QueueItem",
  "Connection",
  "ConnectionRole",
  "Template",
  "KbArticle",
  "Article",
  "Subject",
  "SalesLiterature",
  "Entitlement",
  "EntitlementTemplate",
  "SLA",
  "Workflow",
  "Report",
  "ReportCategory",
  "SavedQuery",
  "UserQuery",
  "UserQueryVisualization",
  "SavedQueryVisualization",
  "SystemForm",
  "UserForm",
  "WebResource",
  "Solution",
  "Publisher",
  "PluginAssembly",
  "PluginType",
  "SdkMessage",
  "SdkMessageProcessingStep",
  "SdkMessageProcessingStepImage",
  "ServiceEndpoint",
  "AsyncOperation",
  "ImportJob",
  "Import",
  "ImportMap",
  "ImportFile",
  "DuplicateRule",
  "DuplicateRuleCondition",
  "Mailbox",
  "EmailServerProfile",
  "Organization",
  "Position",
  "FieldSecurityProfile",
  "FieldPermission",
  "ConvertRule",
  "RoutingRule",
  "SimilarityRule",
  "Theme",
  "DocumentTemplate",
  "PersonalDocumentTemplate",
  "AttributeMap",
  "EntityMap",
  "CustomControl",
  "AppModule",
  "Entity",
  "Attribute",
  "Relationship",
  "OptionSet",
  "EntityKey",
  "SiteMap",
  "ChannelAccessProfile",
  "ProcessSession",
  "ExpiredProcess",
  "SharePointSite",
  "SharePointDocumentLocation",
  "SocialProfile",
  "SocialActivity",
  "CustomerRelationship",
  "KnowledgeArticle",
  "KnowledgeBaseRecord",
  "Feedback",
  "Category",
  "ActionCard",
  "Calendar",
  "TransactionCurrency",
  "BusinessUnitNewsArticle",
  "GoalRollupField",
  "ProductPriceLevel",
  "OpportunityProduct",
  "QuoteDetail",
  "SalesOrderDetail",
  "InvoiceDetail",
  "ContractTemplate",
  "UoM",
  "UoMSchedule",
  "Resource",
  "ResourceGroup",
  "ResourceSpec",
  "Constraint",
  "CustomerAddress",
  "EmailSignature",
  "MailMergeTemplate",
  "PostConfiguration",
  "Post",
  "RecommendedDocument",
  "SystemApplicationMetadata",
  "UserApplicationMetadata",
  "EnvironmentVariableDefinition",
  "EnvironmentVariableValue",
  "ConnectionReference",
  "Connector",
  "CanvasApp",
  "FlowSession",
];

/**
 * Tables whose records belong to the organization, not to a user or team: Dataverse gives their
 * privileges one depth, Global (canbebasic, canbelocal and canbedeep false on the privilege row),
 * as for prvReadProduct or prvWriteSdkMessage. A sample of the real ones.
 */
const ORGANIZATION_OWNED_TABLES: ReadonlySet<string> = new Set([
  "Product",
  "PriceLevel",
  "Discount",
  "DiscountType",
  "Competitor",
  "Territory",
  "Subject",
  "SalesLiterature",
  "UoM",
  "UoMSchedule",
  "TransactionCurrency",
  "Organization",
  "Entity",
  "Attribute",
  "Relationship",
  "OptionSet",
  "EntityKey",
  "SiteMap",
  "WebResource",
  "Solution",
  "Publisher",
  "PluginAssembly",
  "PluginType",
  "SdkMessage",
  "SdkMessageProcessingStep",
  "SdkMessageProcessingStepImage",
  "ServiceEndpoint",
  "SystemForm",
  "SavedQuery",
  "SavedQueryVisualization",
  "AppModule",
  "CustomControl",
  "Theme",
  "FieldSecurityProfile",
  "FieldPermission",
]);

/** Privileges that are not per table (a sample of the real ones). */
const MISC = [
  "prvExportToExcel",
  "prvMerge",
  "prvBulkDelete",
  "prvPublishCustomization",
  "prvImportCustomization",
  "prvExportCustomization",
  "prvActOnBehalfOfAnotherUser",
  "prvBulkEdit",
  "prvPrint",
  "prvGoMobile",
  "prvUseTabletApp",
  "prvSyncToOutlook",
  "prvGoOffline",
  "prvReparentUser",
  "prvReparentTeam",
  "prvReparentBusinessUnit",
  "prvDisableBusinessUnit",
  "prvAssignManager",
  "prvPublishDuplicateRule",
  "prvPublishEmailTemplates",
  "prvPublishArticle",
  "prvPublishReport",
  "prvPublishRSReport",
  "prvCreateOrgEmailTemplates",
  "prvSendAsUser",
  "prvSendInviteForLive",
  "prvConfigureInternetMarketing",
  "prvConfigureYammer",
  "prvConfigureSharePoint",
  "prvEnableDuplicateDetection",
  "prvDisableDuplicateDetection",
  "prvAllowQuickCampaign",
  "prvFlow",
  "prvSearchAvailability",
  "prvBrowseAvailability",
  "prvWebMailMerge",
  "prvOverridePriceEngineInvoice",
  "prvOverridePriceEngineQuote",
  "prvOverridePriceEngineOrder",
  "prvApproveRejectEmailAddress",
  "prvApproveRejectMailbox",
  "prvTurnDevErrorsOn",
  "prvReadLicenseInfo",
  "prvDocumentGeneration",
  "prvAdminFilter",
  "prvRollupGoal",
  "prvUseInternetMarketing",
  "prvLanguageSettings",
];

/** Deterministic GUID from a name (SHA-1 based, version-5 layout). */
export function nameGuid(namespace: string, name: string): string {
  const digest = createHash("sha1").update(`${namespace}:${name}`).digest();
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function build(): Privilege[] {
  const out: Privilege[] = [];
  const seen = new Set<string>();
  const add = (name: string, accessright: number, scoped: boolean) => {
    if (seen.has(name)) return;
    seen.add(name);
    out.push({
      privilegeid: nameGuid("privilege", name),
      name,
      accessright,
      canbebasic: scoped,
      canbelocal: scoped,
      canbedeep: scoped,
      canbeglobal: true,
      canbeentityreference: false,
      canbeparententityreference: false,
    });
  };
  for (const table of TABLES) for (const [right, flag] of ACCESS) add(`prv${right}${table}`, flag, !ORGANIZATION_OWNED_TABLES.has(table));
  for (const name of MISC) add(name, 0, false);
  return out;
}

export const PRIVILEGES: readonly Privilege[] = build();

/**
 * A table's logical name from the form its privileges use: lower case, except the few tables whose
 * privileges carry another name, as in Dataverse (prvReadUser is systemuser's, prvReadNote annotation's).
 */
const LOGICAL_NAME_EXCEPTIONS: Readonly<Record<string, string>> = { User: "systemuser", Note: "annotation", Activity: "activitypointer" };

interface TableDefinition {
  logicalName: string;
  /** The table part of its privilege names ("Contact" in prvCreateContact). */
  privilegeTableName: string;
  privileges: readonly Privilege[];
}

/** The tables of the catalogue by logical name: EntityDefinitions(LogicalName='...') answers from it. */
export const TABLE_DEFINITIONS: ReadonlyMap<string, TableDefinition> = new Map(
  TABLES.map((table) => {
    const logicalName = LOGICAL_NAME_EXCEPTIONS[table] ?? table.toLowerCase();
    const privileges = ACCESS.map(([right]) => PRIVILEGES.find((p) => p.name === `prv${right}${table}`)!);
    return [logicalName, { logicalName, privilegeTableName: table, privileges }];
  }),
);

/** SecurityPrivilegeMetadata.PrivilegeType of a table privilege, from its name (prvAppendTo before prvAppend). */
export function privilegeType(privilege: Privilege): string {
  const right = [...ACCESS].sort((a, b) => b[0].length - a[0].length).find(([name]) => privilege.name.startsWith(`prv${name}`));
  return right ? right[0] : "None";
}
const BY_ID = new Map(PRIVILEGES.map((p) => [p.privilegeid, p]));
const BY_NAME = new Map(PRIVILEGES.map((p) => [p.name.toLowerCase(), p]));

export function privilegeById(id: string): Privilege | undefined {
  return BY_ID.get(id.toLowerCase());
}

export function privilegeByName(name: string): Privilege {
  const privilege = BY_NAME.get(name.toLowerCase());
  if (!privilege) throw new Error(`emulator: no privilege named ${name} in the catalogue`);
  return privilege;
}

/**
 * Parses a Depth as Dataverse accepts it: a name ("Global"), a numeric string ("3") or (G) an
 * integer. Returns undefined when it is none of those.
 */
export function parseDepth(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < DEPTH_NAMES.length) return value;
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return parseDepth(Number(value));
    const i = DEPTH_NAMES.findIndex((n) => n.toLowerCase() === value.toLowerCase());
    return i >= 0 ? i : undefined;
  }
  return undefined;
}
