import * as fs from 'node:fs';
import * as path from 'node:path';

// The import rules of docs/architecture.md, checked on every TypeScript source: a layer that reaches past its
// neighbours (a chart that loads aws-cdk-lib, the library that loads the CLI) fails here, not in a user's app.

const root = path.join(__dirname, '..');

interface Import {
  readonly file: string;
  /** A package name (`aws-cdk-lib/aws-eks-v2`), or a repository path without extension for a relative import. */
  readonly target: string;
  /** A file of this repository (a relative import), not a package. */
  readonly local: boolean;
}

function sources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (relative !== 'constructs/imports') found.push(...sources(relative));
    } else if (entry.name.endsWith('.ts')) {
      found.push(relative);
    }
  }
  return found;
}

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s+|\brequire\(\s*|\bimport\(\s*)'([^']+)'/g)].map(([, specifier]) => ({
    file,
    target: specifier.startsWith('.') ? path.posix.join(path.posix.dirname(file), specifier) : specifier,
    local: specifier.startsWith('.'),
  }));
}

function importsUnder(dir: string): Import[] {
  return sources(dir).flatMap(importsOf);
}

const isAwsCdk = (target: string) => target === 'aws-cdk-lib' || target.startsWith('aws-cdk-lib/') || target.startsWith('@aws-cdk/');
const isCdk8s = (target: string) => target === 'cdk8s' || target.startsWith('cdk8s-plus');
const LIMITS = 'images/proxy/src/limits';
const NAMES = 'constructs/names';
const show = (found: Import[]) => found.map((i) => `${i.file} → ${i.target}`);

describe('the layers import only what docs/architecture.md allows', () => {
  test('lib/config/: neither cdk8s nor aws-cdk-lib; of this repository, only itself, the shared limits and the agreed names', () => {
    const found = importsUnder('lib/config');
    expect(found.length).toBeGreaterThan(50);
    expect(show(found.filter((i) => isAwsCdk(i.target) || isCdk8s(i.target) || i.target === 'constructs'))).toEqual([]);
    expect(show(found.filter((i) => i.local && !i.target.startsWith('lib/config/') && i.target !== LIMITS && i.target !== NAMES))).toEqual([]);
  });

  test('the modules every layer may read import nothing: the shared limits and the agreed names', () => {
    expect(show([`${LIMITS}.ts`, `${NAMES}.ts`].flatMap(importsOf))).toEqual([]);
  });

  test('constructs/: never aws-cdk-lib; of this repository, only itself, lib/config/ and the shared limits', () => {
    const found = importsUnder('constructs');
    expect(found.some((i) => i.target === 'cdk8s')).toBe(true);
    expect(show(found.filter((i) => isAwsCdk(i.target)))).toEqual([]);
    expect(
      show(found.filter((i) => i.local && !/^(constructs|lib\/config)\//.test(i.target) && i.target !== LIMITS)),
    ).toEqual([]);
  });

  test('lib/private/ imports nothing of this repository and no package: the Lambda bundle and the CLI compile it in', () => {
    expect(show(importsUnder('lib/private').filter((i) => !i.target.startsWith('node:') && !(i.local && i.target.startsWith('lib/private/'))))).toEqual([]);
  });

  test('lib/ never imports the CLI or the example app (bin/)', () => {
    const found = importsUnder('lib');
    expect(found.some((i) => isAwsCdk(i.target))).toBe(true);
    expect(show(found.filter((i) => i.local && i.target.startsWith('bin/')))).toEqual([]);
  });

  test('lambda/rollout-gate/: no aws-cdk-lib or cdk8s; of this repository, only itself, lib/private/ and the agreed names', () => {
    const found = importsUnder('lambda');
    expect(show(found.filter((i) => isAwsCdk(i.target) || isCdk8s(i.target)))).toEqual([]);
    expect(
      show(found.filter((i) => i.local && !/^(lambda|lib\/private)\//.test(i.target) && i.target !== NAMES)),
    ).toEqual([]);
  });

  test("images/proxy/src/: Node's standard library and its own files only (its image is built from that folder)", () => {
    const found = importsUnder('images/proxy/src');
    expect(show(found.filter((i) => !i.target.startsWith('node:') && !(i.local && i.target.startsWith('images/proxy/src/'))))).toEqual([]);
  });

  test('nothing outside bin/ imports bin/; CLI-only code (diff, pin) lives under bin/cli/', () => {
    const outside = ['lib', 'constructs', 'lambda', 'images/proxy/src'].flatMap(importsUnder);
    expect(show(outside.filter((i) => i.local && i.target.startsWith('bin/')))).toEqual([]);
    expect(fs.existsSync(path.join(root, 'lib/diff'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'lib/pin'))).toBe(false);
  });
});
