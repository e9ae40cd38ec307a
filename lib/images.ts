import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as ecr_assets from 'aws-cdk-lib/aws-ecr-assets';
import { Construct } from 'constructs';
import type { PredictorSpec } from './config';
import { CortexValidationError } from './errors';

/**
 * The images cortex-cdk builds at deploy time, as `DockerImageAsset`s: the proxy sidecar
 * (`images/proxy/`) and, per project, the Python predictor runtime with the user's code
 * (`images/python-predictor/` plus the directory of the cortex.yaml). `cdk synth` only stages their
 * build contexts into the cloud assembly; `cdk deploy` builds and pushes them (Docker needed there).
 * See docs/importing.md, "Images".
 */

/** The platform every image is built for (GPU and Neuron runtimes are x86_64 too). */
export const IMAGE_PLATFORM = ecr_assets.Platform.LINUX_AMD64;

/** Where the project (the cortex.yaml's directory) lives inside a predictor image; the ConfigMap's paths are relative to it. */
export const PROJECT_DIR_IN_IMAGE = '/opt/cortex/project';

/** The sub-directory of a staged predictor build context that holds the project. */
export const PROJECT_DIR_IN_CONTEXT = 'project';

/**
 * Never copied from a project into its image: version control, the CDK's own output and Node
 * packages (a cortex.yaml often sits in a CDK app's root), Python caches. Docker ignore syntax.
 * A `.cortexignore` in the project adds patterns of its own (as in Cortex).
 */
export const DEFAULT_PROJECT_EXCLUDES: readonly string[] = [
  '.git',
  'cdk.out',
  '**/node_modules',
  '**/__pycache__',
  '**/*.pyc',
  '.cortexignore',
];

/** Kept out of the runtime's part of a build context: Python's caches change without the code changing. */
const RUNTIME_EXCLUDES = ['**/__pycache__', '**/*.pyc'];

/** The file of a project whose lines (Docker ignore syntax, `#` comments) are kept out of its image. */
export const CORTEXIGNORE_FILE = '.cortexignore';

/** The package's `images/` directory, from `lib/` (ts-node, jest) or `dist/lib/` (compiled). */
function imagesRoot(): string {
  const candidates = [path.resolve(__dirname, '..', 'images'), path.resolve(__dirname, '..', '..', 'images')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'proxy', 'Dockerfile')));
  // Not a user error: the package is broken. Point at where it was looked for.
  if (found === undefined) {
    throw new Error(`cortex-cdk: the images/ directory is missing (looked in ${candidates.join(', ')})`);
  }
  return found;
}

/** The proxy sidecar's build context (its Dockerfile and sources). */
export const PROXY_IMAGE_DIRECTORY = path.join(imagesRoot(), 'proxy');

/** The Python predictor runtime's build context, without any project. */
export const PYTHON_PREDICTOR_IMAGE_DIRECTORY = path.join(imagesRoot(), 'python-predictor');

/** Construct ids of the shared images in their stack. */
const PROXY_IMAGE_ID = 'CortexProxyImage';
const PREDICTOR_IMAGES_ID = 'CortexPredictorImages';

/**
 * The outermost stack of `scope` (through nested stacks): images are shared by every API of it, and an
 * asset's image URI (account, region, repository, tag) is the same string in any stack of the app.
 */
function outermostStack(scope: Construct): cdk.Stack {
  let stack = cdk.Stack.of(scope);
  while (stack.nestedStackParent !== undefined) {
    stack = stack.nestedStackParent;
  }
  return stack;
}

/**
 * The proxy sidecar's image asset, built from `images/proxy/`: one per (outermost) stack, shared by
 * all its APIs. Users who mirror images pass `proxyImage` instead and no asset is made.
 */
export function proxyImageAsset(scope: Construct): ecr_assets.DockerImageAsset {
  const stack = outermostStack(scope);
  const existing = stack.node.tryFindChild(PROXY_IMAGE_ID);
  if (existing !== undefined) {
    return existing as ecr_assets.DockerImageAsset;
  }
  return new ecr_assets.DockerImageAsset(stack, PROXY_IMAGE_ID, {
    directory: PROXY_IMAGE_DIRECTORY,
    platform: IMAGE_PLATFORM,
    displayName: 'cortex-cdk proxy sidecar',
  });
}

/** What a predictor image is built from. */
export interface PredictorImageOptions {
  /** The project: the directory of the cortex.yaml (the predictor's `path` and dependency files are relative to it). */
  readonly projectDir: string;
  /** The predictor's dependency files, relative to `projectDir`; missing files are skipped by the build. */
  readonly dependencies: PredictorSpec['dependencies'];
  /**
   * Which runtime base to build on: the CPU image, the CUDA one (`gpu`) or the Neuron one (`neuron`).
   * @default 'cpu'
   */
  readonly variant?: PredictorImageVariant;
  /**
   * The predictor's type: `onnx` adds onnxruntime (the CUDA build on the GPU variant) to the image.
   * @default 'python'
   */
  readonly type?: PredictorSpec['type'];
}

/** The runtime bases of images/python-predictor: `Dockerfile`, `Dockerfile.gpu`, `Dockerfile.neuron`. */
export type PredictorImageVariant = 'cpu' | 'gpu' | 'neuron';

/** The variant an API's runtime container needs: Neuron devices win, then GPUs, else the CPU base. */
export function predictorImageVariant(compute: { readonly gpu: number; readonly inf: number }): PredictorImageVariant {
  return compute.inf > 0 ? 'neuron' : compute.gpu > 0 ? 'gpu' : 'cpu';
}

/** The Dockerfile of a variant, relative to the build context. */
export function predictorDockerfile(variant: PredictorImageVariant): string {
  return variant === 'cpu' ? 'Dockerfile' : `Dockerfile.${variant}`;
}

/** onnxruntime for ONNX predictors, pinned (CUDA build on GPUs). */
export const ONNX_RUNTIME_EXTRAS: Readonly<Record<PredictorImageVariant, string>> = {
  cpu: 'onnxruntime==1.20.1',
  gpu: 'onnxruntime-gpu==1.20.1',
  neuron: 'onnxruntime==1.20.1',
};

/** The Docker build arguments naming a predictor's dependency files (see images/python-predictor/Dockerfile). */
export function predictorBuildArgs(
  dependencies: PredictorSpec['dependencies'],
  type: PredictorSpec['type'] = 'python',
  variant: PredictorImageVariant = 'cpu',
): Record<string, string> {
  return {
    CORTEX_SHELL_DEPENDENCIES: dependencies.shell,
    CORTEX_CONDA_PACKAGES: dependencies.conda,
    CORTEX_PIP_REQUIREMENTS: dependencies.pip,
    ...(type === 'onnx' ? { CORTEX_RUNTIME_EXTRAS: ONNX_RUNTIME_EXTRAS[variant] } : {}),
  };
}

/**
 * The patterns kept out of a project's image: {@link DEFAULT_PROJECT_EXCLUDES}, the project's
 * `.cortexignore`, and the cloud assembly's directory when it lies inside the project.
 */
export function projectExcludes(projectDir: string, outdir?: string): string[] {
  const excludes = [...DEFAULT_PROJECT_EXCLUDES];
  const ignoreFile = path.join(projectDir, CORTEXIGNORE_FILE);
  if (fs.existsSync(ignoreFile)) {
    const lines = fs.readFileSync(ignoreFile, 'utf8').split(/\r?\n/);
    excludes.push(...lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
  }
  if (outdir !== undefined) {
    const relative = path.relative(path.resolve(projectDir), path.resolve(outdir));
    if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) {
      excludes.push(relative.split(path.sep).join('/'));
    }
  }
  return excludes;
}

/**
 * Copies the runtime (`images/python-predictor/`) and the project (under `project/`) into one build
 * context below `stagingRoot`, named after their content so that the same inputs always give the same
 * directory (and the same asset hash), and a second synth reuses it. Returns the directory.
 */
export function stagePredictorBuildContext(projectDir: string, stagingRoot: string, outdir?: string): string {
  const excludes = projectExcludes(projectDir, outdir);
  const ignoreMode = cdk.IgnoreMode.DOCKER;
  const fingerprint = createHash('sha256')
    .update(cdk.FileSystem.fingerprint(PYTHON_PREDICTOR_IMAGE_DIRECTORY, { exclude: RUNTIME_EXCLUDES, ignoreMode }))
    .update(cdk.FileSystem.fingerprint(projectDir, { exclude: excludes, ignoreMode }))
    .digest('hex');
  const staged = path.join(stagingRoot, `predictor-${fingerprint.slice(0, 32)}`);
  if (fs.existsSync(staged)) {
    return staged;
  }
  // Copy next to the target and rename: a synth that dies half-way leaves no half-filled context behind.
  fs.mkdirSync(stagingRoot, { recursive: true });
  const partial = fs.mkdtempSync(`${staged}.partial-`);
  try {
    cdk.FileSystem.copyDirectory(PYTHON_PREDICTOR_IMAGE_DIRECTORY, partial, { exclude: RUNTIME_EXCLUDES, ignoreMode });
    const projectTarget = path.join(partial, PROJECT_DIR_IN_CONTEXT);
    fs.mkdirSync(projectTarget);
    cdk.FileSystem.copyDirectory(projectDir, projectTarget, { exclude: excludes, ignoreMode });
    fs.renameSync(partial, staged);
  } catch (e) {
    fs.rmSync(partial, { recursive: true, force: true });
    if (!fs.existsSync(staged)) throw e;
  }
  return staged;
}

/** Per outermost stack: predictor image assets by project directory and dependency files. */
const predictorAssets = new WeakMap<cdk.Stack, Map<string, ecr_assets.DockerImageAsset>>();

/**
 * The image of a predictor-form API: the Python predictor runtime with the project's code at
 * {@link PROJECT_DIR_IN_IMAGE} and its dependencies installed. APIs of one project with the same
 * dependency files share one asset (per outermost stack). The build context is staged at synth in the
 * cloud assembly's directory (`cortex-build/`), so the asset is deterministic: its hash changes exactly
 * when the runtime, the project's files or the dependency file names do.
 */
export function predictorImageAsset(scope: Construct, options: PredictorImageOptions): ecr_assets.DockerImageAsset {
  const projectDir = path.resolve(options.projectDir);
  if (!fs.existsSync(projectDir) || !fs.statSync(projectDir).isDirectory()) {
    throw new CortexValidationError(
      `configDir (${JSON.stringify(options.projectDir)}) must be an existing directory: the project a predictor-form API's image is built from`,
    );
  }
  const stack = outermostStack(scope);
  const variant = options.variant ?? 'cpu';
  const file = predictorDockerfile(variant);
  const buildArgs = predictorBuildArgs(options.dependencies, options.type, variant);
  const key = JSON.stringify([projectDir, buildArgs, file]);
  let assets = predictorAssets.get(stack);
  if (assets === undefined) {
    assets = new Map();
    predictorAssets.set(stack, assets);
  }
  const known = assets.get(key);
  if (known !== undefined) {
    return known;
  }

  const outdir = cdk.Stage.of(stack)?.outdir;
  const stagingRoot = path.join(outdir ?? cdk.FileSystem.tmpdir, 'cortex-build');
  const context = stagePredictorBuildContext(projectDir, stagingRoot, outdir);
  const container =
    (stack.node.tryFindChild(PREDICTOR_IMAGES_ID) as Construct | undefined) ?? new Construct(stack, PREDICTOR_IMAGES_ID);
  // Named after the content and the build args, never after the API: APIs come and go, images are shared.
  const id = createHash('sha256').update(path.basename(context)).update(JSON.stringify(buildArgs)).update(file).digest('hex').slice(0, 16);
  const asset =
    (container.node.tryFindChild(id) as ecr_assets.DockerImageAsset | undefined) ??
    new ecr_assets.DockerImageAsset(container, id, {
      directory: context,
      file,
      platform: IMAGE_PLATFORM,
      buildArgs,
      displayName: `cortex-cdk python predictor (${path.basename(projectDir)}, ${variant})`,
    });
  assets.set(key, asset);
  return asset;
}
