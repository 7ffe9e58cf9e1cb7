// The OData query options the emulated Dataverse understands: $filter (eq/ne/gt/ge/lt/le, and,
// or, not, parentheses, contains/startswith/endswith), $select, $expand with nested options, $top.
// Anything else is refused with a Dataverse error rather than silently ignored.
import { dataverseError, DataverseErrorCode, ServiceError } from "./errors";

export type Row = Record<string, unknown>;

type Literal = string | number | boolean | null;
type Node =
  | { kind: "cmp"; op: string; field: string; value: Literal }
  | { kind: "fn"; fn: string; field: string; value: string }
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "not"; expr: Node };

function syntax(message: string): ServiceError {
  return dataverseError(400, DataverseErrorCode.invalidProperty, message);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  let position = 0;
  while (position < src.length) {
    const char = src[position];
    if (/\s/.test(char)) {
      position++;
      continue;
    }
    if (char === "(" || char === ")" || char === ",") {
      tokens.push(char);
      position++;
      continue;
    }
    if (char === "'") {
      let end = position + 1;
      let literal = "";
      for (;;) {
        if (end >= src.length) throw syntax(`Syntax error: unterminated string literal at position ${position} in '${src}'.`);
        if (src[end] === "'") {
          if (src[end + 1] === "'") {
            literal += "'";
            end += 2;
            continue;
          }
          break;
        }
        literal += src[end++];
      }
      tokens.push(`'${literal}`); // marker: a string literal
      position = end + 1;
      continue;
    }
    let end = position;
    while (end < src.length && !/[\s(),']/.test(src[end])) end++;
    tokens.push(src.slice(position, end));
    position = end;
  }
  return tokens;
}

/** Parses a $filter expression. */
export function parseFilter(source: string): Node {
  return new FilterParser(source).parse();
}

/** A recursive-descent parser over the tokens of one $filter: or > and > not/function/comparison/parentheses. */
class FilterParser {
  private readonly tokens: string[];
  private position = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parse(): Node {
    const tree = this.orExpression();
    if (this.position !== this.tokens.length) this.fail(`Syntax error at '${this.tokens[this.position]}'`);
    return tree;
  }

  private peek(): string | undefined {
    return this.tokens[this.position];
  }

  private next(): string | undefined {
    return this.tokens[this.position++];
  }

  private fail(what: string): never {
    throw syntax(`${what} in $filter '${this.source}'.`);
  }

  private expect(token: string): void {
    if (this.next() !== token) this.fail(`Syntax error: '${token}' expected`);
  }

  private literal(token: string | undefined): Literal {
    if (token === undefined) throw syntax(`Syntax error: value expected at the end of $filter '${this.source}'.`);
    if (token.startsWith("'")) return token.slice(1);
    if (token === "null") return null;
    if (token === "true") return true;
    if (token === "false") return false;
    if (GUID.test(token)) return token.toLowerCase();
    if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
    return this.fail(`Syntax error at '${token}'`);
  }

  private primary(): Node {
    const token = this.next();
    if (token === undefined) throw syntax(`Syntax error: unexpected end of $filter '${this.source}'.`);
    if (token === "(") {
      const inner = this.orExpression();
      this.expect(")");
      return inner;
    }
    if (token === "not") return { kind: "not", expr: this.primary() };
    if (["contains", "startswith", "endswith"].includes(token) && this.peek() === "(") return this.stringFunction(token);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(token)) this.fail(`Syntax error at '${token}'`);
    const operator = this.next();
    if (!operator || !["eq", "ne", "gt", "ge", "lt", "le"].includes(operator))
      this.fail(`Syntax error: comparison expected after '${token}'`);
    return { kind: "cmp", op: operator, field: token, value: this.literal(this.next()) };
  }

  /** contains(field,'text'), startswith(...), endswith(...) */
  private stringFunction(name: string): Node {
    this.next();
    const field = this.next();
    this.expect(",");
    const value = this.literal(this.next());
    this.expect(")");
    if (typeof value !== "string" || !field) this.fail(`Syntax error: ${name} needs a property and a string`);
    return { kind: "fn", fn: name, field, value };
  }

  private andExpression(): Node {
    let left = this.primary();
    while (this.peek() === "and") {
      this.next();
      left = { kind: "and", left, right: this.primary() };
    }
    return left;
  }

  private orExpression(): Node {
    let left = this.andExpression();
    while (this.peek() === "or") {
      this.next();
      left = { kind: "or", left, right: this.andExpression() };
    }
    return left;
  }
}

/** Field lookup as Dataverse resolves it: the attribute, or the lookup's `_x_value`. */
function resolveField(row: Row, field: string, entity: string): unknown {
  if (field in row) return row[field];
  const lookup = `_${field}_value`;
  if (lookup in row) return row[lookup];
  throw dataverseError(
    400,
    DataverseErrorCode.invalidProperty,
    `Could not find a property named '${field}' on type 'Microsoft.Dynamics.CRM.${entity}'.`,
  );
}

function norm(value: unknown): unknown {
  return typeof value === "string" ? value.toLowerCase() : value === undefined ? null : value;
}

export function evaluate(node: Node, row: Row, entity: string): boolean {
  switch (node.kind) {
    case "and":
      return evaluate(node.left, row, entity) && evaluate(node.right, row, entity);
    case "or":
      return evaluate(node.left, row, entity) || evaluate(node.right, row, entity);
    case "not":
      return !evaluate(node.expr, row, entity);
    case "fn": {
      const value = resolveField(row, node.field, entity);
      if (typeof value !== "string") return false;
      const left = value.toLowerCase();
      const right = node.value.toLowerCase();
      return node.fn === "contains" ? left.includes(right) : node.fn === "startswith" ? left.startsWith(right) : left.endsWith(right);
    }
    case "cmp": {
      const left = norm(resolveField(row, node.field, entity));
      const right = norm(node.value);
      switch (node.op) {
        case "eq":
          return left === right;
        case "ne":
          return left !== right;
        default: {
          if (left === null || right === null) return false;
          const leftValue = left as number | string;
          const rightValue = right as number | string;
          return node.op === "gt"
            ? leftValue > rightValue
            : node.op === "ge"
              ? leftValue >= rightValue
              : node.op === "lt"
                ? leftValue < rightValue
                : leftValue <= rightValue;
        }
      }
    }
  }
}

export interface ExpandItem {
  name: string;
  select?: string[];
  filter?: Node;
}

/** Splits on commas or semicolons that are not inside parentheses. */
function splitTop(src: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let current = "";
  for (const char of src) {
    if (char === "'") quote = !quote;
    if (!quote && char === "(") depth++;
    if (!quote && char === ")") depth--;
    if (!quote && depth === 0 && char === sep) {
      parts.push(current);
      current = "";
      continue;
    }
    current += char;
  }
  if (current.trim() !== "") parts.push(current);
  return parts.map((part) => part.trim());
}

export function parseSelect(src: string | null): string[] | undefined {
  if (src === null || src === undefined) return undefined;
  return src
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

export function parseExpand(src: string | null): ExpandItem[] {
  if (!src) return [];
  return splitTop(src, ",").map((item) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$/s.exec(item);
    if (!match) throw syntax(`Syntax error in $expand '${src}'.`);
    const expandItem: ExpandItem = { name: match[1] };
    if (match[2]) {
      for (const option of splitTop(match[2], ";")) {
        const equals = option.indexOf("=");
        const key = option.slice(0, equals).trim();
        const value = option.slice(equals + 1).trim();
        if (key === "$select") expandItem.select = parseSelect(value);
        else if (key === "$filter") expandItem.filter = parseFilter(value);
        else throw syntax(`The query option '${key}' is not supported inside $expand by the emulator.`);
      }
    }
    return expandItem;
  });
}

/** Applies $select to a wire row: the primary key and @odata.etag always stay, unknown names fail. */
export function applySelect(row: Row, select: string[] | undefined, entity: string, primaryKey: string): Row {
  if (!select) return row;
  const out: Row = {};
  if ("@odata.etag" in row) out["@odata.etag"] = row["@odata.etag"];
  for (const name of select) {
    if (name in row) out[name] = row[name];
    else if (`_${name}_value` in row) out[`_${name}_value`] = row[`_${name}_value`];
    else
      throw dataverseError(
        400,
        DataverseErrorCode.invalidProperty,
        `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${entity}'.`,
      );
  }
  out[primaryKey] = row[primaryKey];
  return out;
}
