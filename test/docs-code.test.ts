import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

// Every TypeScript block of the README and docs/*.md compiles against the package as users import it:
// 'cortex-cdk' is lib/index.ts (its exports only: a deep import such as 'cortex-cdk/lib/platform' does not
// resolve, as it does not from the published package). A block is a fragment of a stack: its own imports stay
// at the top; the rest runs in a Stack's constructor (`this`). A name the block uses but neither imports nor
// declares is imported from 'cortex-cdk' (so it must be exported there), unless it is one of the stand-ins of
// AMBIENT (the cluster, the platform, the app... a block assumes). All blocks in one program, built twice:
// first alone (their imports unread: fast) to find the names each leaves open, then with those and all they import.

const root = path.join(__dirname, '..');

/** What a block may use without declaring it, and how it is declared then. */
const AMBIENT: Record<string, string> = {
  app: 'declare const app: __cdk.App;',
  cluster: 'declare const cluster: __eks.ICluster;',
  platform: "declare const platform: import('cortex-cdk').IApiPlatform;",
  cortex: "declare const cortex: import('cortex-cdk').CortexCluster;",
  api: "declare const api: import('cortex-cdk').RealtimeApiSpec;",
  certificate: "declare const certificate: import('aws-cdk-lib/aws-certificatemanager').ICertificate;",
  cpuNodes: "declare const cpuNodes: import('constructs').IDependable;",
  gpuNodes: "declare const gpuNodes: import('constructs').IDependable;",
  apiManifest: 'declare const apiManifest: __eks.KubernetesManifest;',
  kubectlFunctionArn: 'declare const kubectlFunctionArn: string;',
  kubectlRole: "declare const kubectlRole: import('aws-cdk-lib/aws-iam').IRole;",
  featuresBucket: "declare const featuresBucket: import('aws-cdk-lib/aws-s3').IBucket;",
  __dirname: 'declare const __dirname: string;',
  path: "import * as path from 'node:path';",
  Duration: "import { Duration } from 'aws-cdk-lib';",
  CfnOutput: "import { CfnOutput } from 'aws-cdk-lib';",
  eks: "import * as eks from 'aws-cdk-lib/aws-eks-v2';",
  ec2: "import * as ec2 from 'aws-cdk-lib/aws-ec2';",
  iam: "import * as iam from 'aws-cdk-lib/aws-iam';",
  logs: "import * as logs from 'aws-cdk-lib/aws-logs';",
};

interface Block {
  /** Where the block is: `docs/importing.md:14` (the line of its opening fence). */
  readonly where: string;
  /** The virtual file it compiles as. */
  readonly fileName: string;
  readonly imports: string[];
  readonly body: string[];
}

function blocksOf(file: string): Block[] {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const start = i;
    const code: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) code.push(lines[i].slice(indent));
    // The block's leading imports (each may span lines, up to its `from '...'`), then the rest.
    let n = 0;
    while (n < code.length && /^import\b/.test(code[n])) {
      while (n < code.length && !/\bfrom\s+['"][^'"]+['"];?\s*(\/\/.*)?$/.test(code[n])) n++;
      n++;
      while (n < code.length && code[n].trim() === '') n++;
    }
    const where = `${file}:${start + 1}`;
    blocks.push({ where, fileName: path.join(root, 'test', '.docs-code', `${where.replace(/[/:.]/g, '_')}.ts`), imports: code.slice(0, n), body: code.slice(n) });
  }
  return blocks;
}

/** The block as a module: the prelude, its imports, then its body in a Stack's constructor (line numbers kept apart). */
function moduleText(block: Block, prelude: string[]): { text: string; bodyLine: number; importLine: number } {
  const head = ["import * as __cdk from 'aws-cdk-lib';", "import * as __eks from 'aws-cdk-lib/aws-eks-v2';", ...prelude];
  const lines = [...head, ...block.imports, 'export class __Block extends __cdk.Stack { constructor(__scope: __cdk.App) { super(__scope, "Block");', ...block.body, '} }'];
  return { text: lines.join('\n'), importLine: head.length, bodyLine: head.length + block.imports.length + 1 };
}

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  lib: ['lib.es2022.d.ts'],
  strict: true,
  esModuleInterop: true,
  resolveJsonModule: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
};

/** Where 'cortex-cdk' resolves: the package's entry point. */
const PACKAGE_ENTRY = path.join(root, 'lib', 'index.ts');

/** The files on disk as parsed, shared by both passes (aws-cdk-lib alone is some 2,500 declaration files). */
const parsed = new Map<string, ts.SourceFile | undefined>();

function check(blocks: Block[], texts: Map<string, string>, options: ts.CompilerOptions): Map<Block, readonly ts.Diagnostic[]> {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = texts.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true);
    if (!parsed.has(fileName)) parsed.set(fileName, getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate));
    return parsed.get(fileName);
  };
  const fileExists = host.fileExists;
  host.fileExists = (fileName) => texts.has(fileName) || fileExists.call(host, fileName);
  host.resolveModuleNames = (names, containingFile) =>
    names.map((name) =>
      name === 'cortex-cdk' ? { resolvedFileName: PACKAGE_ENTRY, extension: ts.Extension.Ts } : ts.resolveModuleName(name, containingFile, options, host).resolvedModule,
    );
  const program = ts.createProgram({ rootNames: [...texts.keys()], options, host });
  const diagnostics = new Map<Block, readonly ts.Diagnostic[]>();
  for (const block of blocks) {
    const source = program.getSourceFile(block.fileName)!;
    diagnostics.set(block, [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]);
  }
  return diagnostics;
}

/** Names a diagnostic says are not declared ("Cannot find name 'x'", with or without a suggestion). */
function missingName(d: ts.Diagnostic): string | undefined {
  if (![2304, 2552, 2580, 2582, 18004].includes(d.code)) return undefined;
  return /(?:Cannot find name|the shorthand property) '([^']+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, '\n'))?.[1];
}

describe('the TypeScript blocks of the README and docs/', () => {
  const files = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const blocks = files.flatMap(blocksOf);

  test('there are blocks to check, docs/importing.md among them', () => {
    expect(blocks.filter((b) => b.where.startsWith('docs/importing.md:')).length).toBeGreaterThanOrEqual(5);
  });

  test('each compiles against the package exports, with only the stand-ins it assumes', () => {
    // First pass, without reading what the blocks import (fast): what each block leaves undeclared.
    const first = new Map(blocks.map((b) => [b.fileName, moduleText(b, []).text]));
    const pass1 = check(blocks, first, { ...OPTIONS, noResolve: true });
    const preludes = new Map<Block, string[]>();
    for (const block of blocks) {
      const missing = [...new Set(pass1.get(block)!.map(missingName).filter((n): n is string => n !== undefined))].sort();
      const fromPackage = missing.filter((n) => AMBIENT[n] === undefined);
      preludes.set(block, [...(fromPackage.length > 0 ? [`import { ${fromPackage.join(', ')} } from 'cortex-cdk';`] : []), ...missing.filter((n) => AMBIENT[n] !== undefined).map((n) => AMBIENT[n])]);
    }
    // Second pass: with them; every problem is reported at its line in the Markdown file.
    const modules = new Map(blocks.map((b) => [b, moduleText(b, preludes.get(b)!)]));
    const pass2 = check(blocks, new Map(blocks.map((b) => [b.fileName, modules.get(b)!.text])), OPTIONS);
    const problems: string[] = [];
    for (const block of blocks) {
      const { bodyLine, importLine } = modules.get(block)!;
      const [file, fence] = block.where.split(':');
      for (const d of pass2.get(block)!) {
        const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
        const inBlock = line >= bodyLine ? block.imports.length + (line - bodyLine) : line >= importLine ? line - importLine : undefined;
        const at = inBlock === undefined || inBlock >= block.imports.length + block.body.length ? `${block.where} (prelude)` : `${file}:${Number(fence) + 1 + inBlock}`;
        problems.push(`${at}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
