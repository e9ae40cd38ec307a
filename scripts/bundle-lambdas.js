#!/usr/bin/env node
// Bundles each custom-resource handler in lambda/ into one CommonJS file, with its dependencies, for the
// Lambda runtime: lambda/rollout-gate/index.ts -> dist/lambda/rollout-gate/bundle/index.js. `npm run build`
// runs it after tsc. The bundle gets a folder of its own because tsc compiles the handler's sources
// (which the tests import) to dist/lambda/rollout-gate/ too, and a Lambda asset is a whole folder.
//
//   node scripts/bundle-lambdas.js [OUT_ROOT]        (default: dist/lambda)
//
// @kubernetes/client-node is an ES module; esbuild turns it into CommonJS along with the rest.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');

/** The handlers: source entry point, and the folder (under the output root) their bundle goes to. */
const HANDLERS = [{ entry: 'lambda/rollout-gate/index.ts', outdir: 'rollout-gate/bundle' }];

/** Bundles every handler below `outRoot`; resolves to the files written. */
async function bundleLambdas(outRoot = path.join(root, 'dist', 'lambda')) {
  const written = [];
  for (const handler of HANDLERS) {
    const outfile = path.join(outRoot, handler.outdir, 'index.js');
    await esbuild.build({
      entryPoints: [path.join(root, handler.entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      minify: true,
      // No source map: it would double the asset, and the messages users see are the handler's own.
      sourcemap: false,
      // Same input, same bytes: the asset hash (and so the template) changes only with the code.
      legalComments: 'none',
      logLevel: 'warning',
    });
    written.push(outfile);
  }
  return written;
}

module.exports = { bundleLambdas, HANDLERS };

if (require.main === module) {
  bundleLambdas(process.argv[2] ? path.resolve(process.argv[2]) : undefined).then(
    (files) => files.forEach((f) => console.log(`bundled ${path.relative(process.cwd(), f)}`)),
    (error) => {
      console.error(error.message ?? error);
      process.exit(1);
    },
  );
}
