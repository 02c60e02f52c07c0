// Package recipe owns the recipe format: YAML decoding with line:col
// positions, the schema, ${{ }} expressions, validation and -p overrides. It
// turns a file into a checked plan the run engine executes.
//
// The nouns:
//
//   - Recipe is a decoded file: params, the env allow-list, stages and
//     recipe outputs. Load or Parse builds it and checks its structure;
//     Override applies -p assignments; Validate checks it against the stage
//     Specs (a SpecLookup) and finds bad references and cycles.
//   - StageDecl is one entry of `stages:`: its type (uses), with values,
//     matrix axes, if, needs, cache, timeout, retries and Deps, the union of
//     needs and every stage its expressions reference.
//   - Value is a YAML value that keeps the position of every part: a literal,
//     a template string holding ${{ }} HCL expressions, a list or a map.
//     Value.Eval evaluates it in a Scope; a string that is exactly one
//     expression keeps the expression's type.
//   - Instance is one runnable stage: the stage itself, or one combination
//     of its matrix, labelled by the values joined with "-".
//   - Scope is what expressions see: params, stages.<id>.outputs, matrix,
//     allow-listed env, gpu. With Partial set, outputs of stages that have
//     not run are unknown values, which is how `szrun plan` evaluates.
//   - ErrorList holds every problem at once as `file:line:col: message`,
//     sorted, with a "did you mean" where a name is close.
//
// docs/recipes.md is the user's reference for the format.
package recipe
