// Removes the run's temporary directory (global-setup.js), whatever the tests left in it.
const fs = require('node:fs');

module.exports = async function globalTeardown() {
  const dir = process.env.CORTEX_CDK_TEST_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
