// Every test run writes into one temporary directory of its own, removed by global-teardown.js:
// each `new cdk.App()` without an outdir stages its assets (the kubectl layer alone is ~30 MB) under
// os.tmpdir(), and cdk8s's Testing.app() makes a directory there too. Without this, every `npm test`
// left ~3,800 directories and gigabytes behind in /tmp. Workers and child processes inherit TMPDIR.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-cdk-jest-'));
  process.env.CORTEX_CDK_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
  process.env.TMP = dir;
  process.env.TEMP = dir;
  // aws-cdk-lib's built-in CloudFormation validation costs ~3 s of warm-up in each synthesizing test file.
  // test/lib/cortex-stack.test.ts turns it back on for the whole example app: one file proves the
  // templates valid, the others test what they are about.
  process.env.CDK_VALIDATION = 'false';
  // The AWS SDK warns on Node 20 that its releases of 2027 will need Node 22 (the package pins its releases);
  // the CLI turns the warning off (bin/cortex.ts), and tests that load the SDK directly would print it in the report.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
};
