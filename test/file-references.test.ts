import * as fs from 'node:fs';
import * as path from 'node:path';

// Comments, docs and messages name files of this repository by their paths from its root (`docs/operations.md`,
// `lib/config/pod.ts`, `images/proxy/`): every one must exist in a clone, and every relative link of a Markdown
// file must reach its target.

const root = path.join(__dirname, '..');

/** Not scanned: installed, built or generated (constructs/imports is written by `npm run import-crds`). */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'cdk.out', '.git', '__pycache__', '.pytest_cache', 'constructs/imports']);
const TEXT_FILE = /\.(ts|js|mjs|cjs|md|py|sh|yaml|yml|json|txt)$|^Dockerfile|^run$/;
const SKIPPED_FILES = new Set(['package-lock.json', 'images/proxy/package-lock.json']);

/** The repository's top folders: a path starting with one of them, not inside a longer path or URL, is a reference. */
const TOP_FOLDERS = ['docs', 'lib', 'constructs', 'bin', 'lambda', 'images', 'test', 'scripts', 'bench', 'examples', '.ci'];
const REFERENCE = new RegExp(`(?<![\\w./@~$-])((?:${TOP_FOLDERS.map((f) => f.replace('.', '\\.')).join('|')})/[\\w.-]+(?:/[\\w.-]+)*)`, 'g');

/** How a reference may leave out its extension: a jest pattern (`npx jest test/images/proxy/main`), a module path. */
const IMPLIED_EXTENSIONS = ['', '.ts', '.test.ts', '.js', '.py'];

/**
 * Paths in Cortex's own repository, which the text names as Cortex's (its docs at a tag, its sample requests):
 * each occurrence must have "Cortex" shortly before it, and none may exist here.
 */
const CORTEX_PATHS = new Set([
  'docs/workloads/realtime/predictors.md',
  'docs/workloads/realtime/metrics.md',
  'docs/workloads/observability/metrics.md',
  'docs/clusters/management/create.md',
  'test/apis',
]);

interface Reference {
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly before: string;
}

function textFiles(dir = ''): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (SKIPPED_DIRS.has(entry.name) || SKIPPED_DIRS.has(relative)) continue;
    if (entry.isDirectory()) files.push(...textFiles(relative));
    else if (TEXT_FILE.test(entry.name) && !SKIPPED_FILES.has(relative)) files.push(relative);
  }
  return files;
}

/** A test's strings are fixtures (files it writes, paths it feeds to a parser): only its comments cite. */
function citingText(file: string, text: string): string {
  if (!file.startsWith('test/')) return text;
  return text
    .split('\n')
    .map((line) => {
      const trimmed = line.trimStart();
      if (/^(\/\/|\/\*|\*|#)/.test(trimmed)) return line;
      const comment = /\s(\/\/|#)\s/.exec(line);
      return comment ? ' '.repeat(comment.index) + line.slice(comment.index) : '';
    })
    .join('\n');
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

function references(file: string, text: string): Reference[] {
  const found: Reference[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    const target = match[1].replace(/\.+$/, '');
    found.push({ file, line: lineOf(text, match.index), target, before: text.slice(Math.max(0, match.index - 300), match.index) });
  }
  return found;
}

function exists(target: string): boolean {
  return IMPLIED_EXTENSIONS.some((extension) => fs.existsSync(path.join(root, target + extension)));
}

/** Code blocks and code spans blanked out (line breaks kept): a regular expression there is no link. */
function withoutCode(text: string): string {
  const blank = (code: string) => code.replace(/[^\n]/g, ' ');
  return text.replace(/^```[\s\S]*?^```/gm, blank).replace(/`[^`\n]*`/g, blank);
}

/** `[text](target)` links of a Markdown file, outside code, that are neither URLs nor anchors, as written. */
function markdownLinks(text: string): Array<{ line: number; target: string }> {
  const links: Array<{ line: number; target: string }> = [];
  const prose = withoutCode(text);
  for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1].replace(/#.*$/, '');
    if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    links.push({ line: lineOf(prose, match.index), target });
  }
  return links;
}

const files = textFiles();
const texts = new Map(files.map((file) => [file, fs.readFileSync(path.join(root, file), 'utf8')]));
const all = files.flatMap((file) => references(file, citingText(file, texts.get(file)!)));

describe('file references', () => {
  test('the scan reads the sources, docs, images and tests, and finds references in them', () => {
    for (const file of ['README.md', 'docs/architecture.md', 'lib/cortex-apis.ts', 'images/proxy/Dockerfile', 'images/python-predictor/cortex_runtime/server.py', 'test/readme.test.ts']) {
      expect(files).toContain(file);
    }
    expect(files.some((file) => file.startsWith('constructs/imports/') || file.startsWith('node_modules/'))).toBe(false);
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((r) => r.file === 'docs/architecture.md').map((r) => r.target)).toContain('images/proxy/src/limits.ts');
  });

  test('every path from the repository root names a file or folder that exists', () => {
    const missing = all
      .filter((r) => !CORTEX_PATHS.has(r.target) && !exists(r.target))
      .map((r) => `${r.file}:${r.line}: ${r.target}`);
    expect(missing).toEqual([]);
  });

  test("Cortex's own paths are named as Cortex's, and are not this repository's", () => {
    const cited = all.filter((r) => CORTEX_PATHS.has(r.target));
    expect(cited.filter((r) => !/Cortex/.test(r.before)).map((r) => `${r.file}:${r.line}: ${r.target}`)).toEqual([]);
    for (const target of CORTEX_PATHS) expect(fs.existsSync(path.join(root, target))).toBe(false);
  });

  test("every relative link of a Markdown file reaches its target from the file's folder", () => {
    const broken = files
      .filter((file) => file.endsWith('.md'))
      .flatMap((file) =>
        markdownLinks(texts.get(file)!)
          .filter((link) => !fs.existsSync(path.join(root, path.dirname(file), link.target)))
          .map((link) => `${file}:${link.line}: ${link.target}`),
      );
    expect(broken).toEqual([]);
  });

  test('every `npm run` names a script of the package or of the proxy image', () => {
    const scripts = new Set(
      ['package.json', 'images/proxy/package.json'].flatMap((file) => Object.keys(JSON.parse(texts.get(file)!).scripts ?? {})),
    );
    const unknown = files.flatMap((file) => {
      const text = citingText(file, texts.get(file)!);
      return [...text.matchAll(/npm run ([\w:-]+)/g)]
        .filter((match) => !scripts.has(match[1]))
        .map((match) => `${file}:${lineOf(text, match.index)}: npm run ${match[1]}`);
    });
    expect(unknown).toEqual([]);
  });

  test('no file cites a design document that only exists outside the repository', () => {
    const cites = files.filter((file) => file !== 'test/file-references.test.ts' && /\bDESIGN\.md\b/.test(texts.get(file)!));
    expect(cites).toEqual([]);
  });

  test("the scan itself: a made-up path is reported; an import, a URL, a test's fixture and a link in code are not", () => {
    const [reference] = references('docs/x.md', 'See `docs/no-such-file.md` and https://example.com/docs/elsewhere.md.');
    expect(reference.target).toBe('docs/no-such-file.md');
    expect(exists(reference.target)).toBe(false);
    expect(references('x.ts', "import { y } from '../lib/config';")).toEqual([]);
    expect(citingText('test/x.test.ts', "writeFile(dir, 'lib/fixture.ts', '');  // see lib/config/pod.ts")).toContain('lib/config/pod.ts');
    expect(citingText('test/x.test.ts', "writeFile(dir, 'lib/fixture.ts', '');")).not.toContain('lib/fixture.ts');
    expect(markdownLinks('[a](no-such.md) `[b](c)`\n```\n[d](e)\n```\n[f](https://x/y) [g](#h)')).toEqual([{ line: 1, target: 'no-such.md' }]);
  });
});
