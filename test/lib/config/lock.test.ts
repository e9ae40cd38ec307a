import * as path from 'node:path';
import { ConfigError, formatProblem, parseConfig } from '../../../lib/config';
import {
  applyLock,
  applyLockFile,
  configImages,
  jsonSyntaxErrorOffset,
  loadConfigFileWithLock,
  lockFileFor,
  parseLock,
  readLockFile,
  type ImageLock,
} from '../../../lib/config/lock';
// What cortex pin writes, read back here: the CLI's writer and the library's reader agree.
import { formatLock } from '../../../bin/cli/pin/lock-file';
import { PYTHON_PREDICTOR_IMAGE_PLACEHOLDER } from '../../../constructs/names';
import { tempDir, writeFile } from '../../util';

const dir = tempDir('cortex-lock-');

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

const CORTEX_YAML = `- name: hello
  kind: RealtimeAPI
  pod:
    containers:
      - {name: api, image: "hashicorp/http-echo:1.0"}
      - {name: cache, image: "redis:7"}
- name: other
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "hashicorp/http-echo:1.0"}]
- name: iris
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py, image: "example.com/iris-runtime:2"}
- name: built
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py}
- name: split
  kind: TrafficSplitter
  apis: [{name: hello, weight: 50}, {name: other, weight: 50}]
`;

const config = parseConfig(CORTEX_YAML, 'cortex.yaml');

function lockOf(images: Record<string, string>): ImageLock {
  return { file: 'cortex.lock.json', images };
}

function problemsOf(text: string): string[] {
  return parseLock(text, 'cortex.lock.json').problems.map(formatProblem);
}

describe('lockFileFor', () => {
  test('GIVEN a cortex.yaml THEN the lock is beside it, .yaml replaced by .lock.json', () => {
    expect(lockFileFor('cortex.yaml')).toBe('cortex.lock.json');
    expect(lockFileFor('examples/iris/cortex.yml')).toBe('examples/iris/cortex.lock.json');
    expect(lockFileFor('apis/staging.yaml')).toBe('apis/staging.lock.json');
    expect(lockFileFor('cortex')).toBe('cortex.lock.json');
  });
});

describe('configImages', () => {
  test('GIVEN containers and predictor images THEN each image once, with every field naming it; built runtimes left out', () => {
    expect(configImages(config)).toEqual([
      { image: 'hashicorp/http-echo:1.0', usages: ['hello.pod.containers[0].image', 'other.pod.containers[0].image'] },
      { image: 'redis:7', usages: ['hello.pod.containers[1].image'] },
      { image: 'example.com/iris-runtime:2', usages: ['iris.predictor.image'] },
    ]);
  });
});

describe('parseLock', () => {
  test('GIVEN a valid lock THEN its images', () => {
    const text = formatLock({ 'redis:7': `redis@${A}`, 'hashicorp/http-echo:1.0': `hashicorp/http-echo@${B}` });
    expect(parseLock(text, 'cortex.lock.json')).toEqual({
      lock: { file: 'cortex.lock.json', images: { 'redis:7': `redis@${A}`, 'hashicorp/http-echo:1.0': `hashicorp/http-echo@${B}` } },
      problems: [],
    });
  });

  test('GIVEN broken JSON THEN the file, the position and the parser\'s message', () => {
    expect(problemsOf('{\n  "version": 1,\n  "images": {,}\n}\n')).toEqual([expect.stringMatching(/^cortex\.lock\.json:3:\d+: invalid JSON: /)]);
  });

  test.each([
    ['a bare word', '{\n  "version": 1,\n  "images": nope\n}\n', '3:14'],
    ['a trailing comma in a list', '{\n  "version": 1,\n  "images": ["a",]\n}\n', '3:18'],
    ['a file cut short', '{\n  "version": 1,\n  "images": {"a": "b"', '3:22'],
    ['an empty file', '', '1:1'],
  ])('GIVEN broken JSON with %s (which JSON.parse does not place) THEN the position of the first wrong character', (_, text, position) => {
    expect(problemsOf(text)).toEqual([expect.stringMatching(new RegExp(`^cortex\\.lock\\.json:${position}: invalid JSON: `))]);
  });

  test('GIVEN JSON nested a hundred thousand levels deep WHEN broken at the end THEN it is placed there, without a stack overflow', () => {
    expect(jsonSyntaxErrorOffset(`${'['.repeat(100_000)}${']'.repeat(99_999)}x`)).toBe(199_999);
    expect(jsonSyntaxErrorOffset(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)).toBeUndefined();
  });

  test('GIVEN a list THEN what the file must be', () => {
    expect(problemsOf('[]')).toEqual(['cortex.lock.json:1:1: must be a JSON object {"version": 1, "images": {...}}, got an empty list']);
  });

  test('GIVEN another version THEN the version allowed; a newer one says so', () => {
    expect(problemsOf('{"version": 2, "images": {}}')).toEqual([
      'cortex.lock.json:1:13: version: must be 1, the lock format this cortex-cdk reads, got 2 (a newer cortex-cdk wrote it?)',
    ]);
    expect(problemsOf('{"version": "1", "images": {}}')).toEqual(['cortex.lock.json:1:13: version: must be 1, the lock format this cortex-cdk reads, got "1"']);
    expect(problemsOf('{"images": {}}')).toEqual(['cortex.lock.json:1:1: version: is missing; it must be 1']);
  });

  test('GIVEN images missing, or not a mapping, or an unknown field THEN each named', () => {
    expect(problemsOf('{"version": 1}')).toEqual([expect.stringMatching(/^cortex\.lock\.json:1:1: images: must be a mapping of images .* is missing$/)]);
    expect(problemsOf('{"version": 1, "images": ["redis:7"]}')).toEqual([expect.stringMatching(/:1:26: images: must be a mapping .*; got a list$/)]);
    expect(problemsOf('{"version": 1, "images": {}, "pinnedAt": "today"}')).toEqual([
      'cortex.lock.json:1:30: pinnedAt: unknown field; a lock file has "version" and "images" only',
    ]);
  });

  test('GIVEN bad entries THEN each names its key, the value and the form allowed', () => {
    const text = JSON.stringify(
      {
        version: 1,
        images: {
          'redis:7': 'redis:7',
          'hashicorp/http-echo:1.0': `other/image@${A}`,
          'nginx:1': `nginx:1@${A}`,
          'Bad Key': `x@${A}`,
          [`redis@${A}`]: `redis@${A}`,
          'busybox:1': 5,
          'alpine:3': `alpine@sha512:${'c'.repeat(128)}`,
        },
      },
      null,
      2,
    );
    expect(problemsOf(text)).toEqual([
      'cortex.lock.json:4:16: images["redis:7"]: must be the pinned reference "redis@sha256:<64 hex digits>" (the key\'s name and a SHA-256 digest), got "redis:7"',
      expect.stringMatching(/^cortex\.lock\.json:5:32: images\["hashicorp\/http-echo:1\.0"\]: must be the pinned reference "hashicorp\/http-echo@sha256:<64 hex digits>" .*, got "other\/image@sha256:a+…"$/),
      expect.stringMatching(/^cortex\.lock\.json:6:16: images\["nginx:1"\]: must be the pinned reference "nginx@sha256/),
      'cortex.lock.json:7:5: images["Bad Key"]: must be an image as written in the cortex.yaml; "Bad Key" is not an image reference: it is empty or holds whitespace',
      'cortex.lock.json:8:5: images["redis@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]: must be an image with a tag (or none), not a digest: a digest needs no pinning',
      'cortex.lock.json:9:18: images["busybox:1"]: must be the pinned reference "busybox@sha256:<64 hex digits>", got 5',
      expect.stringMatching(/^cortex\.lock\.json:10:17: images\["alpine:3"\]: must be the pinned reference "alpine@sha256/),
    ]);
  });

  test('GIVEN a byte-order mark THEN it is read like any lock', () => {
    expect(parseLock(`\uFEFF${formatLock({})}`, 'x').problems).toEqual([]);
  });
});

describe('formatLock', () => {
  test('GIVEN images in any order THEN sorted keys, version first, two-space indent, a final newline', () => {
    expect(formatLock({ 'redis:7': `redis@${A}`, 'alpine:3': `alpine@${B}` })).toBe(
      `{\n  "version": 1,\n  "images": {\n    "alpine:3": "alpine@${B}",\n    "redis:7": "redis@${A}"\n  }\n}\n`,
    );
  });
});

describe('applyLock', () => {
  test('GIVEN a lock WHEN applied THEN containers and predictor images pinned everywhere they are used', () => {
    // WHEN
    const { config: locked, unpinned } = applyLock(
      config,
      lockOf({ 'hashicorp/http-echo:1.0': `hashicorp/http-echo@${A}`, 'redis:7': `redis@${B}`, 'example.com/iris-runtime:2': `example.com/iris-runtime@${A}` }),
    );
    // THEN
    const images = (name: string) => locked.apis.find((a) => a.name === name)!.pod.containers.map((c) => c.image);
    expect(images('hello')).toEqual([`hashicorp/http-echo@${A}`, `redis@${B}`]);
    expect(images('other')).toEqual([`hashicorp/http-echo@${A}`]);
    expect(images('iris')).toEqual([`example.com/iris-runtime@${A}`]);
    expect(locked.apis.find((a) => a.name === 'iris')!.predictor!.image).toBe(`example.com/iris-runtime@${A}`);
    expect(unpinned).toEqual([]);
  });

  test('GIVEN a lock WHEN applied THEN specs and apis are the same objects, splitters and built runtimes untouched, the input unchanged', () => {
    const { config: locked } = applyLock(config, lockOf({ 'redis:7': `redis@${B}` }));
    expect(locked.specs.filter((s) => s.kind === 'RealtimeAPI')).toEqual(locked.apis);
    expect(locked.specs.map((s) => s.name)).toEqual(config.specs.map((s) => s.name));
    expect(locked.splitters).toBe(config.splitters);
    expect(locked.apis.find((a) => a.name === 'built')!.pod.containers[0].image).toBe(PYTHON_PREDICTOR_IMAGE_PLACEHOLDER);
    expect(config.apis[0].pod.containers[1].image).toBe('redis:7');
  });

  test('GIVEN entries for images no longer used THEN ignored; images missing from the lock THEN as written, and listed', () => {
    const { config: locked, unpinned } = applyLock(config, lockOf({ 'redis:7': `redis@${B}`, 'gone:1': `gone@${A}` }));
    expect(locked.apis[0].pod.containers.map((c) => c.image)).toEqual(['hashicorp/http-echo:1.0', `redis@${B}`]);
    expect(unpinned).toEqual(['hashicorp/http-echo:1.0', 'example.com/iris-runtime:2']);
  });

  test('GIVEN an image written with a digest THEN it is not listed as unpinned', () => {
    const byDigest = parseConfig(`- {name: a, kind: RealtimeAPI, pod: {containers: [{name: api, image: "redis@${A}"}]}}\n`, 'x.yaml');
    expect(applyLock(byDigest, lockOf({})).unpinned).toEqual([]);
  });
});

describe('applyLockFile', () => {
  test('GIVEN a lock file beside the cortex.yaml THEN applied, and named', () => {
    const project = path.join(dir, 'beside');
    const file = writeFile(project, 'cortex.yaml', CORTEX_YAML);
    writeFile(project, 'cortex.lock.json', formatLock({ 'redis:7': `redis@${A}` }));
    const result = applyLockFile(config, file);
    expect(result.problems).toEqual([]);
    expect(result.lockFile).toBe(path.join(project, 'cortex.lock.json'));
    expect(result.config!.apis[0].pod.containers[1].image).toBe(`redis@${A}`);
  });

  test('GIVEN no lock file beside THEN the config as it is, no lock named', () => {
    const result = applyLockFile(config, path.join(dir, 'none', 'cortex.yaml'));
    expect(result).toEqual({ config, problems: [], unpinned: [] });
  });

  test('GIVEN lockFile false THEN no lock is read, even one beside', () => {
    const project = path.join(dir, 'off');
    const file = writeFile(project, 'cortex.yaml', CORTEX_YAML);
    writeFile(project, 'cortex.lock.json', 'not json');
    expect(applyLockFile(config, file, { lockFile: false })).toEqual({ config, problems: [], unpinned: [] });
  });

  test('GIVEN a lock file named but missing THEN a problem naming it', () => {
    const result = applyLockFile(config, 'cortex.yaml', { lockFile: 'pins.json', pathToRead: (f) => path.join(dir, 'missing', f) });
    expect(result.config).toBeUndefined();
    expect(result.problems.map(formatProblem)).toEqual(['pins.json: no such file']);
  });

  test('GIVEN an invalid lock file THEN no config, and its problems', () => {
    const project = path.join(dir, 'invalid');
    writeFile(project, 'cortex.lock.json', '{"version": 1, "images": {"redis:7": "redis:8"}}');
    const result = applyLockFile(config, 'cortex.yaml', { pathToRead: (f) => path.join(project, f) });
    expect(result.config).toBeUndefined();
    expect(result.problems.map(formatProblem)).toEqual([expect.stringMatching(/^cortex\.lock\.json:1:38: images\["redis:7"\]: must be the pinned reference/)]);
  });
});

describe('readLockFile', () => {
  test('GIVEN a directory THEN a problem, not a crash', () => {
    expect(readLockFile('dir.json', dir).problems.map(formatProblem)).toEqual(['dir.json: is a directory; name the lock file itself']);
  });
});

describe('loadConfigFileWithLock', () => {
  test('GIVEN a cortex.yaml and its lock THEN the pinned config; a bad lock THEN a ConfigError naming the lock file', () => {
    const project = path.join(dir, 'load');
    const file = writeFile(project, 'cortex.yaml', CORTEX_YAML);
    const lock = writeFile(project, 'cortex.lock.json', formatLock({ 'hashicorp/http-echo:1.0': `hashicorp/http-echo@${B}` }));
    expect(loadConfigFileWithLock(file).apis[1].pod.containers[0].image).toBe(`hashicorp/http-echo@${B}`);
    expect(loadConfigFileWithLock(file, { lockFile: false }).apis[1].pod.containers[0].image).toBe('hashicorp/http-echo:1.0');

    writeFile(project, 'cortex.lock.json', '{"version": 3, "images": {}}');
    expect(() => loadConfigFileWithLock(file)).toThrow(ConfigError);
    expect(() => loadConfigFileWithLock(file)).toThrow(`${lock}:1:13: version: must be 1`);
  });
});
