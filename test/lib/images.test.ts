import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { CortexValidationError } from '../../lib/errors';
import {
  DEFAULT_PROJECT_EXCLUDES,
  PROXY_IMAGE_DIRECTORY,
  PYTHON_PREDICTOR_IMAGE_DIRECTORY,
  predictorBuildArgs,
  predictorDockerfile,
  predictorImageAsset,
  predictorImageVariant,
  projectExcludes,
  proxyImageAsset,
  stagePredictorBuildContext,
} from '../../lib/images';
import { tempDir } from '../util';
import { writeProject } from './api-fixtures';

const dir = tempDir('cortex-images-');
const DEPENDENCIES = { pip: 'requirements.txt', conda: 'conda-packages.txt', shell: 'dependencies.sh' };

/** Every file below `root`, relative, sorted. */
function files(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

describe('the image directories', () => {
  test('the proxy and the Python predictor runtime each have a Dockerfile', () => {
    expect(fs.existsSync(path.join(PROXY_IMAGE_DIRECTORY, 'Dockerfile'))).toBe(true);
    expect(fs.existsSync(path.join(PYTHON_PREDICTOR_IMAGE_DIRECTORY, 'Dockerfile'))).toBe(true);
  });

  test('the runtime has no project/ of its own (the staged project goes there)', () => {
    expect(fs.existsSync(path.join(PYTHON_PREDICTOR_IMAGE_DIRECTORY, 'project'))).toBe(false);
  });

  test('the runtime\'s Dockerfile takes the dependency files named by the build args', () => {
    const dockerfile = fs.readFileSync(path.join(PYTHON_PREDICTOR_IMAGE_DIRECTORY, 'Dockerfile'), 'utf8');
    for (const arg of Object.keys(predictorBuildArgs(DEPENDENCIES))) {
      expect(dockerfile).toContain(`ARG ${arg}=`);
    }
    expect(dockerfile).toContain('COPY project/ /opt/cortex/project/');
  });

  test.each(['Dockerfile', 'Dockerfile.gpu', 'Dockerfile.neuron'])(
    "GIVEN %s THEN the runtime is on the interpreter's path through a .pth file, so a PYTHONPATH in predictor.env cannot hide it",
    (name) => {
      const dockerfile = fs.readFileSync(path.join(PYTHON_PREDICTOR_IMAGE_DIRECTORY, name), 'utf8');
      expect(dockerfile).toMatch(/cortex-runtime\.pth', 'w'\)\.write\('\/opt\/cortex\/runtime'\)/);
      expect(dockerfile).not.toMatch(/^\s*PYTHONPATH=/m);
      expect(dockerfile).toContain('CMD ["python", "-m", "cortex_runtime"]');
    },
  );
});

describe('projectExcludes', () => {
  test('GIVEN no .cortexignore THEN the defaults', () => {
    expect(projectExcludes(writeProject(path.join(dir, 'plain')))).toEqual([...DEFAULT_PROJECT_EXCLUDES]);
  });

  test('GIVEN a .cortexignore THEN its patterns too, without comments and blank lines', () => {
    const project = writeProject(path.join(dir, 'ignoring'), { '.cortexignore': '# data\ndata/\n\n*.ckpt\n' });
    expect(projectExcludes(project)).toEqual([...DEFAULT_PROJECT_EXCLUDES, 'data/', '*.ckpt']);
  });

  test('GIVEN the cloud assembly inside the project THEN it is excluded; outside THEN not', () => {
    const project = writeProject(path.join(dir, 'with-out'));
    expect(projectExcludes(project, path.join(project, 'build', 'out'))).toContain('build/out');
    expect(projectExcludes(project, path.join(dir, 'elsewhere'))).toEqual([...DEFAULT_PROJECT_EXCLUDES]);
  });
});

describe('stagePredictorBuildContext', () => {
  let project: string;
  let staged: string;

  beforeAll(() => {
    // GIVEN a project with things that must stay out of the image
    project = writeProject(path.join(dir, 'project'), {
      'src/model.py': 'WEIGHTS = 1\n',
      '.cortexignore': 'data/\n',
      'data/big.bin': 'x',
      'node_modules/pkg/index.js': '',
      '.git/HEAD': 'ref',
      'cdk.out/manifest.json': '{}',
      '__pycache__/predictor.cpython-312.pyc': '',
    });
    // WHEN
    staged = stagePredictorBuildContext(project, path.join(dir, 'staging'));
  });

  test('THEN the runtime at the root and the project under project/, minus the excluded files', () => {
    const stagedFiles = files(staged);
    expect(stagedFiles).toContain('Dockerfile');
    expect(stagedFiles.filter((f) => f.startsWith('project/'))).toEqual(['project/predictor.py', 'project/requirements.txt', 'project/src/model.py']);
  });

  test('THEN the same inputs give the same directory, reused', () => {
    const mtime = fs.statSync(staged).mtimeMs;
    expect(stagePredictorBuildContext(project, path.join(dir, 'staging'))).toBe(staged);
    expect(fs.statSync(staged).mtimeMs).toBe(mtime);
  });

  test('THEN a changed project file gives another directory; an excluded one does not', () => {
    fs.writeFileSync(path.join(project, 'data', 'big.bin'), 'y');
    expect(stagePredictorBuildContext(project, path.join(dir, 'staging'))).toBe(staged);
    fs.writeFileSync(path.join(project, 'src', 'model.py'), 'WEIGHTS = 2\n');
    expect(stagePredictorBuildContext(project, path.join(dir, 'staging'))).not.toBe(staged);
  });
});

describe('predictorImageAsset', () => {
  function assetHash(project: string, dependencies = DEPENDENCIES): string {
    const stack = new cdk.Stack(new cdk.App(), 'Images');
    return predictorImageAsset(stack, { projectDir: project, dependencies }).assetHash;
  }

  test('GIVEN two APIs of one project and dependency files THEN one shared asset; other dependency files THEN another', () => {
    const project = writeProject(path.join(dir, 'shared'));
    const stack = new cdk.Stack(new cdk.App(), 'Images');
    const nested = new cdk.NestedStack(stack, 'Nested');
    const a = predictorImageAsset(stack, { projectDir: project, dependencies: DEPENDENCIES });
    const b = predictorImageAsset(nested, { projectDir: project, dependencies: DEPENDENCIES });
    const c = predictorImageAsset(stack, { projectDir: project, dependencies: { ...DEPENDENCIES, pip: 'requirements-gpu.txt' } });
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(c.assetHash).not.toBe(a.assetHash);
  });

  test('GIVEN the same project in two apps THEN the same asset hash (deterministic); a changed file THEN another', () => {
    const project = writeProject(path.join(dir, 'deterministic'));
    const first = assetHash(project);
    expect(assetHash(project)).toBe(first);
    fs.writeFileSync(path.join(project, 'predictor.py'), 'class PythonPredictor:\n    pass\n');
    expect(assetHash(project)).not.toBe(first);
  });

  test('GIVEN GPU or Neuron compute THEN the CUDA or Neuron Dockerfile of the runtime, as a separate asset', () => {
    const project = writeProject(path.join(dir, 'variants'));
    const stack = new cdk.Stack(new cdk.App(), 'Images');
    // A stack of assets only has no resources, which CloudFormation validation warns about on the console.
    new cdk.CfnWaitConditionHandle(stack, 'Placeholder');
    const cpu = predictorImageAsset(stack, { projectDir: project, dependencies: DEPENDENCIES, variant: 'cpu' });
    const gpu = predictorImageAsset(stack, { projectDir: project, dependencies: DEPENDENCIES, variant: 'gpu' });
    const neuron = predictorImageAsset(stack, { projectDir: project, dependencies: DEPENDENCIES, variant: 'neuron' });
    expect(new Set([cpu.assetHash, gpu.assetHash, neuron.assetHash]).size).toBe(3);
    const manifest = JSON.parse(fs.readFileSync(path.join(cdk.Stage.of(stack)!.synth().directory, 'Images.assets.json'), 'utf8'));
    const files = Object.values(manifest.dockerImages as Record<string, { source: { dockerFile?: string } }>).map((i) => i.source.dockerFile);
    expect(files.sort()).toEqual(['Dockerfile', 'Dockerfile.gpu', 'Dockerfile.neuron']);
    for (const file of files) expect(fs.existsSync(path.join(PYTHON_PREDICTOR_IMAGE_DIRECTORY, file!))).toBe(true);
  });

  test('the variant follows the runtime container\'s compute: inf, then gpu, else cpu', () => {
    expect(predictorImageVariant({ gpu: 0, inf: 0 })).toBe('cpu');
    expect(predictorImageVariant({ gpu: 1, inf: 0 })).toBe('gpu');
    expect(predictorImageVariant({ gpu: 0, inf: 2 })).toBe('neuron');
    expect(predictorDockerfile('cpu')).toBe('Dockerfile');
    expect(predictorDockerfile('gpu')).toBe('Dockerfile.gpu');
  });

  test('GIVEN an onnx predictor THEN onnxruntime is a build arg (the CUDA build on GPUs); python THEN none', () => {
    expect(predictorBuildArgs(DEPENDENCIES, 'onnx', 'cpu').CORTEX_RUNTIME_EXTRAS).toBe('onnxruntime==1.20.1');
    expect(predictorBuildArgs(DEPENDENCIES, 'onnx', 'gpu').CORTEX_RUNTIME_EXTRAS).toBe('onnxruntime-gpu==1.20.1');
    expect(predictorBuildArgs(DEPENDENCIES, 'python', 'gpu').CORTEX_RUNTIME_EXTRAS).toBeUndefined();
  });

  test('GIVEN a missing project directory THEN a CortexValidationError naming configDir', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Images');
    expect(() => predictorImageAsset(stack, { projectDir: path.join(dir, 'absent'), dependencies: DEPENDENCIES })).toThrow(CortexValidationError);
    expect(() => predictorImageAsset(stack, { projectDir: path.join(dir, 'absent'), dependencies: DEPENDENCIES })).toThrow(/^configDir \(".*absent"\)/);
  });
});

describe('proxyImageAsset', () => {
  test('GIVEN calls from a stack and its nested stack THEN one asset, in the outer stack', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Images');
    const nested = new cdk.NestedStack(stack, 'Nested');
    const a = proxyImageAsset(stack);
    expect(proxyImageAsset(nested)).toBe(a);
    expect(cdk.Stack.of(a)).toBe(stack);
  });
});
