import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { validateClusterConfig } from '../lib/cluster-config';
import { validateConfig } from '../lib/config/parse';

// Every YAML block of the README, docs/ and the examples' READMEs that is a whole cortex.yaml (a list of APIs) or a
// whole cluster.yaml (a mapping with cluster_name) is one `cortex validate` accepts, checked in-process. The few
// blocks that show part of a file on purpose are named below by their first line, with why; they must still be there.
const root = path.join(__dirname, '..');
const files = [
  'README.md',
  ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ...fs
    .readdirSync(path.join(root, 'examples'))
    .filter((d) => fs.existsSync(path.join(root, 'examples', d, 'README.md')))
    .map((d) => `examples/${d}/README.md`),
];

interface Block {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

function yamlBlocks(file: string): Block[] {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ya?ml\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(open[1].length));
    blocks.push({ file, line: start + 1, text: `${body.join('\n')}\n` });
  }
  return blocks;
}

/** Blocks that show part of a file: the file, the block's first line, and why it cannot validate alone. */
const FRAGMENTS: ReadonlyArray<{ file: string; firstLine: string; why: string }> = [
  { file: 'docs/configuration.md', firstLine: '- name: iris            # one entry per API', why: 'the outline, with ... for each section' },
  { file: 'docs/configuration.md', firstLine: '- name: iris', why: 'a TrafficSplitter whose APIs the text assumes' },
  { file: 'docs/operations.md', firstLine: '- name: iris', why: 'only the networking.auth.jwt of an API' },
];

const blocks = files.flatMap(yamlBlocks);
const isFragment = (b: Block) => FRAGMENTS.some((f) => f.file === b.file && b.text.split('\n')[0] === f.firstLine);

function kindOf(block: Block): 'cortex.yaml' | 'cluster.yaml' | 'other' {
  let value: unknown;
  try {
    value = parse(block.text);
  } catch {
    return 'other'; // several documents (cortex manifests' output) or a snippet
  }
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'object' && v !== null && 'kind' in v)) return 'cortex.yaml';
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'cluster_name' in value) return 'cluster.yaml';
  return 'other';
}

describe('the YAML blocks of the README and docs/', () => {
  const configs = blocks.filter((b) => kindOf(b) === 'cortex.yaml');

  test('there are whole cortex.yaml and cluster.yaml blocks to check', () => {
    expect(configs.filter((b) => !isFragment(b)).length).toBeGreaterThanOrEqual(8);
    expect(blocks.filter((b) => kindOf(b) === 'cluster.yaml').length).toBeGreaterThanOrEqual(1);
  });

  test('every whole cortex.yaml validates, its problems reported at the Markdown line', () => {
    const problems = configs
      .filter((b) => !isFragment(b))
      .flatMap((b) => validateConfig(b.text, b.file).problems.map((p) => `${b.file}:${b.line + p.line - 1}: ${p.path}: ${p.message}`));
    expect(problems).toEqual([]);
  });

  test('every cluster.yaml validates', () => {
    const problems = blocks
      .filter((b) => kindOf(b) === 'cluster.yaml')
      .flatMap((b) => validateClusterConfig(b.text, b.file).problems.map((p) => `${b.file}:${b.line + p.line - 1}: ${p.path}: ${p.message}`));
    expect(problems).toEqual([]);
  });

  test('each fragment named above is still there, and is one (it does not validate alone)', () => {
    for (const fragment of FRAGMENTS) {
      const found = configs.filter((b) => b.file === fragment.file && b.text.split('\n')[0] === fragment.firstLine);
      expect({ ...fragment, found: found.length }).toEqual({ ...fragment, found: 1 });
      expect(validateConfig(found[0].text, fragment.file).problems.length).toBeGreaterThan(0);
    }
  });
});
