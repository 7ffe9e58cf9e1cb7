/**
 * Per-environment overrides of integrations declared once for the whole project.
 *
 * The integrations list is declared in Pulumi.yaml (project-level config). Pulumi gives a stack the
 * project value unless the stack file sets the same key, and then replaces it whole: lists and
 * objects are not merged. So a stack that needs one field of one integration changed (a display
 * name, a shorter secret lifetime in prod) does not repeat the list; it sets
 *
 *   dataverse-s2s:integrationOverrides:
 *     etl: { displayName: "ETL (prod)", secret: { lifetimeDays: 90 } }
 *
 * keyed by integration name. Objects are merged field by field; any other value replaces the one
 * declared. The result is validated by the config reader like a list written out in full.
 */
import { isRecord } from "../lib/validators";
import { StackConfigError } from "./stack-config";

const integrationOverridesKey = "dataverse-s2s:integrationOverrides";

type Raw = Record<string, unknown>;

function mergeFields(declared: unknown, override: unknown): unknown {
  if (!isRecord(declared) || !isRecord(override)) return override;
  const merged: Raw = { ...declared };
  for (const [field, value] of Object.entries(override)) merged[field] = mergeFields(declared[field], value);
  return merged;
}

/**
 * Applies `overrides` (integration name -> partial integration) to the declared list. Returns the
 * list unchanged when there are none; throws StackConfigError naming each override that does not fit.
 */
export function applyIntegrationOverrides(integrations: unknown, overrides: unknown): unknown {
  if (overrides === undefined || overrides === null) return integrations;
  const problems: string[] = [];
  if (!isRecord(overrides)) {
    throw new StackConfigError([
      `${integrationOverridesKey} must map integration names to the fields that differ, e.g. { etl: { displayName: "ETL (prod)" } }.`,
    ]);
  }
  const declared = Array.isArray(integrations) ? integrations : [];
  const declaredNames = declared
    .map((entry) => (isRecord(entry) ? entry.name : undefined))
    .filter((name): name is string => typeof name === "string");
  for (const [name, override] of Object.entries(overrides)) {
    if (!declaredNames.includes(name)) {
      problems.push(
        `${integrationOverridesKey}.${name} overrides an integration that is not declared ` +
          `(declared: ${declaredNames.length > 0 ? declaredNames.join(", ") : "none"}); fix the name or declare it in dataverse-s2s:integrations.`,
      );
    } else if (!isRecord(override)) {
      problems.push(
        `${integrationOverridesKey}.${name} must be an object with the fields that differ, e.g. { displayName: "ETL (prod)" }.`,
      );
    } else if (override.name !== undefined) {
      problems.push(`${integrationOverridesKey}.${name}.name cannot be overridden: the name identifies the integration's resources.`);
    }
  }
  if (problems.length > 0) throw new StackConfigError(problems);
  return declared.map((entry) =>
    isRecord(entry) && typeof entry.name === "string" && overrides[entry.name] !== undefined
      ? mergeFields(entry, overrides[entry.name])
      : entry,
  );
}
