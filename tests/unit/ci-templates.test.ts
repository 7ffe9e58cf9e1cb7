// The pipeline templates users copy (ci-templates/): the GitHub Actions workflows lint clean with
// actionlint (built from the Go module proxy by scripts/setup-actionlint.sh, cached), the Azure
// DevOps pipeline parses and has the shape it promises, and every step script they run exists
// (those scripts run against the emulator in tests/e2e/pipelines.test.ts).
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { repoRoot } from "../../scripts/emulator-environment";

const templates = path.join(repoRoot, "ci-templates");
const workflows = ["deploy.yml", "drift.yml"].map((name) => path.join(templates, "github-actions", name));
const azurePipeline = path.join(templates, "azure-devops", "azure-pipelines.yml");
const stacks = ["dev", "test", "prod"];

let actionlint: string;
beforeAll(
  () => {
    // Builds actionlint on a fresh machine (minutes), else prints the cached binary's path.
    actionlint = execFileSync("bash", [path.join(repoRoot, "scripts/setup-actionlint.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    })
      .trim()
      .split("\n")
      .pop()!;
  },
  15 * 60 * 1000,
);

describe("GitHub Actions workflows", () => {
  test("lint clean with actionlint", () => {
    const result = spawnSync(actionlint, ["-no-color", ...workflows], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  test("actionlint catches a broken workflow (the lint is real)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-templates-"));
    try {
      const broken = fs.readFileSync(workflows[0], "utf8").replace("needs: deploy-dev", "needs: deploy-nowhere");
      fs.writeFileSync(path.join(dir, "deploy.yml"), broken);
      const result = spawnSync(actionlint, ["-no-color", path.join(dir, "deploy.yml")], { encoding: "utf8" });
      expect(result.status).not.toBe(0);
      expect(result.stdout).toMatch(/deploy-nowhere/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("deploy.yml: OIDC, preview on pull requests, one job per environment in its GitHub environment", () => {
    const workflow = yaml.load(fs.readFileSync(workflows[0], "utf8")) as any;
    expect(workflow.permissions["id-token"]).toBe("write");
    expect(JSON.stringify(workflow)).not.toMatch(/CLIENT_SECRET/);
    expect(workflow.env.ARM_USE_OIDC).toBe("true");
    expect(workflow.jobs.preview.if).toMatch(/pull_request/);
    expect(workflow.jobs.preview.strategy.matrix.stack).toEqual(stacks);
    expect(workflow.jobs.preview.steps.at(-1).run).toBe('bash scripts/ci/preview.sh "${{ matrix.stack }}"');
    for (const [index, stack] of stacks.entries()) {
      const job = workflow.jobs[`deploy-${stack}`];
      expect(job.environment).toBe(stack);
      expect(job.steps.at(-1).run).toBe(`bash scripts/ci/deploy.sh ${stack}`);
      expect(job.steps.some((step: any) => step.uses === "azure/login@v2" && !step.with["client-secret"] && !step.with.creds)).toBe(true);
      if (index > 0) expect(job.needs).toBe(`deploy-${stacks[index - 1]}`);
    }
    expect(workflow.jobs["deploy-dev"].if).toMatch(/refs\/heads\/main/);
  });

  test("drift.yml: scheduled drift check of every environment", () => {
    const workflow = yaml.load(fs.readFileSync(workflows[1], "utf8")) as any;
    expect(workflow.on.schedule[0].cron).toBeTruthy();
    expect(workflow.jobs.drift.strategy.matrix.stack).toEqual(stacks);
    expect(workflow.jobs.drift.strategy["fail-fast"]).toBe(false);
    expect(workflow.jobs.drift.steps.at(-1).run).toBe('bash scripts/ci/drift-check.sh "${{ matrix.stack }}"');
  });
});

describe("Azure DevOps pipeline", () => {
  const pipeline = () => yaml.load(fs.readFileSync(azurePipeline, "utf8")) as any;
  const azureCliSteps = (steps: any[]) => steps.filter((step) => step.task === "AzureCLI@2");

  test("parses, with a workload-identity login in every stage and no stored secret", () => {
    const parsed = pipeline();
    expect(parsed.trigger.branches.include).toEqual(["main"]);
    expect(parsed.pr.branches.include).toEqual(["main"]);
    expect(parsed.schedules[0].cron).toBeTruthy();
    expect(parsed.stages.map((stage: any) => stage.stage)).toEqual(["preview", "deploy_dev", "deploy_test", "deploy_prod", "drift"]);
    for (const stage of parsed.stages) {
      expect(stage.jobs).toHaveLength(1);
      const job = stage.jobs[0];
      const steps = job.deployment ? job.strategy.runOnce.deploy.steps : job.steps;
      expect(Array.isArray(steps)).toBe(true);
      const [login] = azureCliSteps(steps);
      expect(login.inputs.azureSubscription).toBe("${{ variables.serviceConnection }}");
      expect(login.inputs.addSpnToEnvironment).toBe(true);
      expect(login.inputs.inlineScript).toMatch(/ARM_OIDC_TOKEN="\$idToken"/);
    }
    expect(JSON.stringify(parsed)).not.toMatch(/CLIENT_SECRET|servicePrincipalKey/);
  });

  test("preview on pull requests, up per environment in an Azure DevOps environment, drift on schedule", () => {
    const stages = Object.fromEntries(pipeline().stages.map((stage: any) => [stage.stage, stage]));
    expect(stages.preview.condition).toMatch(/PullRequest/);
    expect(azureCliSteps(stages.preview.jobs[0].steps)[0].inputs.inlineScript).toMatch(/bash scripts\/ci\/preview.sh "\$\(stack\)"/);
    expect(Object.keys(stages.preview.jobs[0].strategy.matrix)).toEqual(stacks);
    for (const [index, stack] of stacks.entries()) {
      const stage = stages[`deploy_${stack}`];
      expect(stage.condition).toMatch(/refs\/heads\/main/);
      expect(stage.dependsOn).toEqual(index === 0 ? [] : `deploy_${stacks[index - 1]}`);
      expect(stage.jobs[0].environment).toBe(`dataverse-${stack}`);
      expect(azureCliSteps(stage.jobs[0].strategy.runOnce.deploy.steps)[0].inputs.inlineScript).toMatch(
        new RegExp(`bash scripts/ci/deploy.sh "${stack}"`),
      );
    }
    expect(stages.drift.condition).toMatch(/Schedule/);
    expect(azureCliSteps(stages.drift.jobs[0].steps)[0].inputs.inlineScript).toMatch(/bash scripts\/ci\/drift-check.sh "\$\(stack\)"/);
  });
});

test("every step script the templates run exists in scripts/ci/", () => {
  const text = [...workflows, azurePipeline].map((file) => fs.readFileSync(file, "utf8")).join("\n");
  const scripts = [...new Set(text.match(/scripts\/ci\/[\w-]+\.sh/g))];
  expect(scripts.sort()).toEqual(["scripts/ci/deploy.sh", "scripts/ci/drift-check.sh", "scripts/ci/preview.sh"]);
  for (const script of scripts) expect(fs.existsSync(path.join(repoRoot, script))).toBe(true);
});
