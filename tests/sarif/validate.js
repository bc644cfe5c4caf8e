// SPDX-License-Identifier: Apache-2.0
// Validate SARIF files against the official SARIF 2.1.0 JSON schema with ajv.
//
// usage: node validate.js MODULES_DIR SCHEMA FILE...
// MODULES_DIR is the npm prefix that holds ajv and ajv-formats (installed by
// test_sarif.py into a cache outside the repository). The schema declares
// JSON Schema draft-07, which is ajv 8's default dialect; its "format"
// keywords (uri, uri-reference, date-time, ...) are checked, not ignored.
// Prints "valid FILE" or the schema errors of FILE; exits 1 if any is invalid.
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, schemaPath, ...files] = process.argv.slice(2);
if (!modules || !schemaPath || files.length === 0) {
  console.error('usage: node validate.js MODULES_DIR SCHEMA FILE...');
  process.exit(2);
}
const from = { paths: [path.resolve(modules)] };
const Ajv = require(require.resolve('ajv', from));
const addFormats = require(require.resolve('ajv-formats', from));

const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
if (schema.$schema !== 'http://json-schema.org/draft-07/schema#') {
  console.error(`${schemaPath}: expected a draft-07 schema, found ${schema.$schema}`);
  process.exit(2);
}
// strict: false because the schema uses keywords ajv's strict mode frowns on
// (e.g. "default" next to "$ref"); validation itself is unchanged.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true });
addFormats(ajv);
const validate = ajv.compile(schema);

let bad = 0;
for (const f of files) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    console.log(`invalid ${f}: not JSON: ${e.message}`);
    bad++;
    continue;
  }
  if (validate(doc)) {
    console.log(`valid ${f}`);
  } else {
    bad++;
    console.log(`invalid ${f}:`);
    for (const e of validate.errors.slice(0, 20))
      console.log(`  ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
process.exit(bad ? 1 : 0);
