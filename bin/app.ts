#!/usr/bin/env node
// The CDK app `npx cdk synth` runs (from the project root): an EKS cluster and the APIs of one cortex.yaml.
//   npx cdk synth                               the example, examples/hello-world/cortex.yaml
//   npx cdk synth -c config=path/to/cortex.yaml another configuration
import * as cdk from 'aws-cdk-lib';
import { formatProblem } from '../lib/config';
import { ApisStack } from '../lib/apis-stack';
import { loadConfig } from './cli/load';

const app = new cdk.App();
const configPath: string = app.node.tryGetContext('config') ?? 'examples/hello-world/cortex.yaml';
const { config, problems } = loadConfig(configPath, process.cwd());
if (!config) {
  // Stop before anything is synthesized: a bad cortex.yaml never becomes half a deployment.
  process.stderr.write(problems.map((p) => formatProblem(p) + '\n').join(''));
  process.exit(1);
}
new ApisStack(app, 'CortexApis', { config, description: `cortex-cdk: the APIs of ${configPath}` });
