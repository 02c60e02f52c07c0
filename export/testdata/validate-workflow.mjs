// Validates GitHub Actions workflow files with GitHub's own parser
// (@actions/workflow-parser, installed by scripts/setup.sh into
// third_party/workflow-parser). Prints every error and exits 1 if any.
// Usage: node validate-workflow.mjs PARSER_DIR FILE...
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { register } from "node:module";

// The package imports its JSON schema without an import attribute (it is
// built for bundlers); Node 20 refuses that, so load .json files here.
register("data:text/javascript," + encodeURIComponent(`
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
export async function load(url, context, next) {
  if (url.endsWith(".json")) {
    return { format: "json", source: await readFile(fileURLToPath(url), "utf8"), shortCircuit: true };
  }
  return next(url, context);
}`));

const [parserDir, ...files] = process.argv.slice(2);
const entry = path.resolve(parserDir, "node_modules/@actions/workflow-parser/dist/index.js");
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import(pathToFileURL(entry).href);

let bad = 0;
for (const file of files) {
  const content = readFileSync(file, "utf8");
  const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
  const errors = [...result.context.errors.getErrors()];
  if (result.value) {
    const template = await convertWorkflowTemplate(result.context, result.value);
    for (const e of template.errors || []) errors.push(e);
  }
  for (const e of errors) {
    console.log(`${file}: ${e.message || e.Message || JSON.stringify(e)}`);
  }
  if (errors.length > 0) bad++;
}
process.exit(bad > 0 ? 1 : 0);
