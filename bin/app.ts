#!/usr/bin/env node
// The CDK app `npx cdk synth` runs (from the project root): an EKS cluster with CPU, GPU and Inferentia
// node groups, the platform add-ons, and the APIs of one or more cortex.yaml files.
//   npx cdk synth                                   every example: examples/*/cortex.yaml
//   npx cdk synth -c config=path/to/cortex.yaml     another file (several: comma-separated)
//   npx cdk synth -c lock=false                     images as written, ignoring each file's cortex.lock.json
//   npx cdk synth -c lock=path/to/images.lock.json  another lock file (`cortex pin --lock`), for every file
//   npx cdk synth -c cluster=cluster.yaml           the cluster from Cortex's cluster.yaml (region, node groups, VPC,
//                                                   load balancer, TLS, tags...): see docs/cluster.md
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { applyClusterConfig, ClusterConfig, readClusterConfigFile } from '../lib/cluster-config';
import { ConfigError, ConfigProblem, CortexConfig, formatProblem, mergeConfigs } from '../lib/config';
import { CortexStack } from '../lib/cortex-stack';
import { acknowledgePublicEndpoint } from '../lib/eks-endpoint-check';
import { describeFiles } from '../lib/stack-description';
import { loadConfig } from './cli/load';

const app = new cdk.App();
const files = configFiles(app.node.tryGetContext('config'));
// Both files are checked before either stops the synth: every problem at once.
const cluster = clusterFile(app.node.tryGetContext('cluster'));
const config = loadAll(files, lockContext(app.node.tryGetContext('lock')), cluster.problems);
const { notes: _notes, spec: _spec, ...clusterProps } = cluster.config ?? { notes: [], spec: undefined };
const stack = new CortexStack(app, 'Cortex', {
  ...clusterProps,
  config,
  description: describeFiles('cortex-cdk: an EKS cluster, its platform, and the APIs of ', files),
});
// The file's tags on the nodes too, and its notes (fields without effect here) as synth warnings, which cdk synth prints.
if (cluster.config) applyClusterConfig(stack, cluster.config);
// Without a cluster.yaml, the example cluster's EKS endpoint is public to every address, so that a first
// `cdk deploy` and kubectl work from any laptop: accepted here, with that reason. A cluster.yaml that leaves it
// open gets the warning (operator_load_balancer_cidr_white_list restricts it), as does a CortexCluster in your app.
else acknowledgePublicEndpoint(stack, 'the example app: cdk deploy, kubectl and cortex get from any laptop; restrict it with -c cluster=examples/cluster.yaml');

/** `-c cluster=PATH`: Cortex's cluster.yaml, validated; unset: the stack's defaults. */
function clusterFile(context: unknown): { config?: ClusterConfig; problems: ConfigProblem[] } {
  if (context === undefined) return { problems: [] };
  if (typeof context !== 'string' || context.trim() === '') {
    process.stderr.write(`-c cluster=${JSON.stringify(context)} names no file: give the path of a cluster.yaml\n`);
    process.exit(1);
  }
  const result = readClusterConfigFile(context.trim());
  return { config: result.config, problems: [...result.problems] };
}

function configFiles(context: unknown): string[] {
  if (typeof context === 'string' && context.trim() !== '') {
    const files = context.split(',').map((f) => f.trim()).filter((f) => f !== '');
    if (files.length === 0) {
      // Not the examples in its place: a deploy of nothing but the cluster is not what was asked for.
      process.stderr.write(`-c config=${JSON.stringify(context)} names no cortex.yaml: give one path, or several separated by commas\n`);
      process.exit(1);
    }
    return files;
  }
  return fs
    .readdirSync('examples')
    .map((dir) => path.join('examples', dir, 'cortex.yaml'))
    .filter((file) => fs.existsSync(file))
    .sort();
}

/** `-c lock=false` (or `none`): no lock file; `-c lock=PATH`: that one; unset: each file's own, when it exists. */
function lockContext(context: unknown): string | false | undefined {
  if (context === false || context === 'false' || context === 'none') return false;
  return typeof context === 'string' && context.trim() !== '' ? context.trim() : undefined;
}

/** Every file valid, and names and endpoints unique across them; otherwise the problems, and no synth at all. */
function loadAll(paths: string[], lockFile: string | false | undefined, otherProblems: ConfigProblem[] = []): CortexConfig {
  const configs: CortexConfig[] = [];
  const problems: ConfigProblem[] = [...otherProblems];
  for (const file of paths) {
    const result = loadConfig(file, process.cwd(), { lockFile });
    if (result.config) configs.push(result.config);
    problems.push(...result.problems);
  }
  try {
    if (problems.length === 0) return mergeConfigs(configs);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  // A bad cortex.yaml never becomes half a deployment: stop before anything is synthesized.
  process.stderr.write(problems.map((p) => formatProblem(p) + '\n').join(''));
  process.exit(1);
}
