/** What both of the benchmark's modes print (scripts/bench.ts, scripts/bench-compare.ts). */

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** A Markdown table with padded columns, on stdout (the README quotes these tables). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

export function printTargets(checks: readonly TargetCheck[]): void {
  console.log("");
  for (const check of checks) console.log(`${check.met ? "met    " : "NOT MET"}  ${check.target}: ${check.measured}`);
}
