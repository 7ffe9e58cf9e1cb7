/**
 * The drift check behind scripts/ci/drift-check.sh: `pulumi preview --refresh --expect-no-changes`
 * of one stack through the Automation API, then a Markdown summary naming each resource the preview
 * would change (what drifted, with the properties) and each secret inside its rotation window or
 * expired (a due rotation is a planned change too). Stamps the stack with the time and result (tags
 * read by `npm run report`; a preview is not kept in the stack history).
 * Exit: 0 clean, 1 drift or a secret due, 2 the check itself failed (login, config, backend).
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { EngineEvent, LocalWorkspace } from "@pulumi/pulumi/automation";
import { collectReport, driftCheckedAtTag, driftResultTag, pickBackend, renderMarkdown } from "../report";
import { currentTime } from "../../lib/clock";

const changingOps = new Set(["create", "update", "replace", "create-replacement", "delete", "delete-replaced"]);

export interface PlannedChange {
  readonly op: string;
  readonly name: string;
  readonly type: string;
  readonly properties: string[];
}

async function main() {
  const options = new Command()
    .name("drift-check")
    .requiredOption("-s, --stack <name>", "the stack to check")
    .option("--dir <path>", "the Pulumi project folder", process.cwd())
    .requiredOption("--summary-file <path>", "where to write the Markdown summary")
    .parse()
    .opts<{ stack: string; dir: string; summaryFile: string }>();
  const projectDir = path.resolve(options.dir);
  const envVars: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) envVars[name] = value;
  Object.assign(envVars, pickBackend(projectDir));

  const changes: PlannedChange[] = [];
  const onEvent = (event: EngineEvent) => {
    const metadata = event.resourcePreEvent?.metadata;
    if (!metadata || !changingOps.has(metadata.op)) return;
    changes.push({
      op: metadata.op,
      name: metadata.urn.split("::").pop() ?? metadata.urn,
      type: metadata.type,
      properties: metadata.diffs ?? [],
    });
  };

  const stack = await LocalWorkspace.selectStack({ stackName: options.stack, workDir: projectDir }, { envVars });
  let failure: string | undefined;
  try {
    await stack.preview({
      refresh: true,
      expectNoChanges: true,
      diff: true,
      color: "never",
      onEvent,
      onOutput: (text) => process.stdout.write(text),
    });
  } catch (error) {
    // With --expect-no-changes a planned change also fails the preview: only other failures are errors.
    if (changes.length === 0)
      failure =
        ((error as Error).message ?? String(error))
          .split("\n")
          .filter((line) => /error/i.test(line))
          .slice(0, 5)
          .join("\n") || String(error);
  }

  const checkedAt = currentTime().toISOString();
  const lines = [`## Drift check of stack \`${options.stack}\` at ${checkedAt}`, ""];
  let exitCode: number;
  if (failure) {
    lines.push("❌ The check could not run:", "", "```", failure, "```");
    exitCode = 2;
  } else {
    const reports = await collectReport({ projectDir, stacks: [options.stack], env: envVars });
    const due = reports
      .flatMap((report) => report.integrations)
      .filter((row) => row.rotationState === "in rotation window" || row.rotationState === "expired");
    if (changes.length === 0) lines.push("✅ No drift: the resources match the stack.");
    else {
      lines.push(
        `❌ Drift: ${changes.length} resource${changes.length === 1 ? "" : "s"} differ from the stack; \`pulumi up\` would change:`,
        "",
      );
      lines.push("| Resource | Type | Change | Properties |", "| --- | --- | --- | --- |");
      for (const change of changes)
        lines.push(`| ${change.name} | ${change.type} | ${change.op} | ${change.properties.join(", ") || "-"} |`);
    }
    lines.push("");
    if (due.length === 0) lines.push("✅ No secret is inside its rotation window.");
    else {
      lines.push(`⚠️ Secrets inside their rotation window or expired (\`pulumi up\` rotates them):`, "");
      for (const row of due)
        lines.push(`- ${row.integration}: ${row.rotationState}, expires ${row.secretExpiresAt} (${row.daysLeft} days left)`);
    }
    lines.push("", "### All integrations of the stack", "", renderMarkdown(reports));
    exitCode = changes.length > 0 || due.length > 0 ? 1 : 0;
    await stack.workspace.setTag(options.stack, driftCheckedAtTag, checkedAt);
    await stack.workspace.setTag(options.stack, driftResultTag, changes.length > 0 ? "drift" : "clean");
  }
  fs.writeFileSync(options.summaryFile, `${lines.join("\n")}\n`);
  process.exitCode = exitCode;
}

main().catch((error: unknown) => {
  console.error(`drift check failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
