import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findExcessiveNesting, MAX_NESTING } from '../../../lib/config/yaml-source';

/**
 * The user's kubeconfig, read the way kubectl reads it — `--kubeconfig`, else the files of
 * `KUBECONFIG` merged (the first file to define a name wins), else `~/.kube/config` — and resolved to
 * one context: where the API server is, how to trust it, how to authenticate. It covers what
 * `aws eks update-kubeconfig` writes (an exec credential plugin running `aws eks get-token`,
 * certificate-authority-data) and the other common forms: bearer tokens and token files, client
 * certificates (data or files), basic auth, `insecure-skip-tls-verify`, `tls-server-name`.
 *
 * Written here rather than taken from @kubernetes/client-node, which is ESM-only: jest cannot load it
 * from TypeScript sources, so every test of `cortex get` would have to spawn the built CLI. With this
 * loader the commands run in-process against a loopback fake API server, and the CLI starts without
 * loading that library's dependency tree.
 */

/** A kubeconfig that cannot be used, with what to do about it. */
export class KubeconfigError extends Error {}

/** An exec credential plugin (`users[].user.exec`). */
export interface ExecConfig {
  readonly apiVersion?: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly installHint?: string;
  readonly provideClusterInfo: boolean;
}

/** How requests authenticate. */
export type KubeAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'tokenFile'; readonly file: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'exec'; readonly exec: ExecConfig };

/** The EKS cluster a context points at, as far as the kubeconfig tells. */
export interface EksClusterRef {
  readonly name?: string;
  readonly region?: string;
  /** The AWS profile the context's exec plugin uses (its `AWS_PROFILE` or `--profile`). */
  readonly profile?: string;
}

/** One resolved context. */
export interface KubeTarget {
  /** The files read, in order. */
  readonly files: readonly string[];
  readonly contextName: string;
  readonly clusterName: string;
  readonly userName: string;
  /** The API server's URL, without a trailing slash. */
  readonly server: string;
  /** The context's namespace, when it sets one. */
  readonly namespace?: string;
  readonly tls: {
    readonly ca?: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly insecure: boolean;
    readonly serverName?: string;
  };
  readonly auth: KubeAuth;
  readonly eks: EksClusterRef;
}

export interface LoadKubeconfigOptions {
  /** `--kubeconfig`: this file only. */
  readonly kubeconfig?: string;
  /** `--context`: instead of the current context. */
  readonly context?: string;
  /** Relative paths given on the command line resolve against it. */
  readonly cwd: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default - `HOME` of `env`, else os.homedir() */
  readonly home?: string;
}

interface NamedEntry {
  readonly name: string;
  readonly value: Record<string, unknown>;
  /** The directory of the file it came from: relative paths in it resolve there. */
  readonly dir: string;
}

/**
 * Reads the kubeconfig and resolves the context to use; in a pod with no kubeconfig (none given, `KUBECONFIG` unset,
 * no `~/.kube/config`), the in-cluster configuration ({@link inClusterTarget}). Throws {@link KubeconfigError}.
 */
export function loadKubeconfig(options: LoadKubeconfigOptions): KubeTarget {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? os.homedir();
  if (options.kubeconfig === undefined && !env.KUBECONFIG && !fs.existsSync(path.join(home, '.kube', 'config')) && env.KUBERNETES_SERVICE_HOST) {
    return inClusterTarget(env);
  }
  const files = kubeconfigFiles({ ...options, home }, env);
  const clusters = new Map<string, NamedEntry>();
  const users = new Map<string, NamedEntry>();
  const contexts = new Map<string, NamedEntry>();
  let currentContext: string | undefined;
  for (const file of files) {
    const doc = readDocument(file);
    const dir = path.dirname(file);
    collect(doc.clusters, 'cluster', clusters, dir, file);
    collect(doc.users, 'user', users, dir, file);
    collect(doc.contexts, 'context', contexts, dir, file);
    if (currentContext === undefined && typeof doc['current-context'] === 'string' && doc['current-context'] !== '') {
      currentContext = doc['current-context'];
    }
  }

  const where = files.join(path.delimiter);
  const known = [...contexts.keys()].join(', ') || 'none';
  const contextName = options.context ?? currentContext;
  if (contextName === undefined) {
    throw new KubeconfigError(`${where} sets no current-context; pass --context NAME (contexts: ${known})`);
  }
  const context = contexts.get(contextName);
  if (!context) throw new KubeconfigError(`context "${contextName}" is not in ${where} (contexts: ${known})`);

  const clusterName = stringField(context.value, 'cluster');
  const cluster = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (!clusterName || !cluster) {
    throw new KubeconfigError(`context "${contextName}" names cluster "${clusterName ?? ''}", which is not in ${where}`);
  }
  const server = stringField(cluster.value, 'server');
  if (!server) throw new KubeconfigError(`cluster "${clusterName}" in ${where} has no server`);
  checkServer(server, `cluster "${clusterName}" in ${where}`);

  const userName = stringField(context.value, 'user') ?? '';
  const user = users.get(userName);
  if (userName !== '' && !user) {
    throw new KubeconfigError(`context "${contextName}" names user "${userName}", which is not in ${where}`);
  }

  const auth = user ? resolveAuth(user, where) : ({ kind: 'none' } as const);
  return {
    files,
    contextName,
    clusterName,
    userName,
    server: server.replace(/\/+$/, ''),
    namespace: stringField(context.value, 'namespace') || undefined,
    tls: {
      ca: dataOrFile(cluster, 'certificate-authority'),
      cert: user && dataOrFile(user, 'client-certificate'),
      key: user && dataOrFile(user, 'client-key'),
      insecure: cluster.value['insecure-skip-tls-verify'] === true,
      serverName: stringField(cluster.value, 'tls-server-name'),
    },
    auth,
    eks: eksClusterRef(contextName, clusterName, server, auth),
  };
}

/** Where a pod's ServiceAccount token, CA certificate and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Overrides {@link SERVICE_ACCOUNT_DIR} (the Python client reads the same variable). */
export const SERVICE_ACCOUNT_DIR_ENV = 'CORTEX_SERVICE_ACCOUNT_DIR';
/** The context name of the in-cluster configuration, in messages. */
export const IN_CLUSTER_CONTEXT = 'in-cluster';

/**
 * The in-cluster configuration, as client-go's `rest.InClusterConfig`: the API server at
 * `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, trusted through the ServiceAccount's `ca.crt`,
 * authenticated with its `token` (a token file, read again at each request: the kubelet rotates it), in the pod's
 * namespace. Used when no kubeconfig is found in a pod.
 */
export function inClusterTarget(env: NodeJS.ProcessEnv = process.env): KubeTarget {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const dir = env[SERVICE_ACCOUNT_DIR_ENV] || SERVICE_ACCOUNT_DIR;
  const where = `in-cluster configuration (KUBERNETES_SERVICE_HOST is set and there is no kubeconfig)`;
  const tokenFile = path.join(dir, 'token');
  if (!fs.existsSync(tokenFile)) {
    throw new KubeconfigError(
      `${where}: no ServiceAccount token at ${tokenFile}. The pod's ServiceAccount token is not mounted: for an API's pods, ` +
        'set read_apis: true on the API in cortex.yaml; elsewhere, mount one or pass --kubeconfig PATH',
    );
  }
  let ca: Buffer;
  try {
    ca = fs.readFileSync(path.join(dir, 'ca.crt'));
  } catch (e) {
    throw new KubeconfigError(`${where}: cannot read ${path.join(dir, 'ca.crt')} (${(e as NodeJS.ErrnoException).code})`);
  }
  let namespace: string | undefined;
  try {
    namespace = fs.readFileSync(path.join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    // no namespace file: the commands' own default namespace
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  checkServer(server, where);
  return {
    files: [],
    contextName: IN_CLUSTER_CONTEXT,
    clusterName: IN_CLUSTER_CONTEXT,
    userName: 'serviceaccount',
    server,
    namespace,
    tls: { ca, insecure: false },
    auth: { kind: 'tokenFile', file: tokenFile },
    eks: {},
  };
}

function kubeconfigFiles(options: LoadKubeconfigOptions, env: NodeJS.ProcessEnv): string[] {
  if (options.kubeconfig !== undefined) {
    const file = path.resolve(options.cwd, options.kubeconfig);
    if (!fs.existsSync(file)) throw new KubeconfigError(`--kubeconfig ${options.kubeconfig}: no such file`);
    return [file];
  }
  if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '');
    const existing = listed.filter((f) => fs.existsSync(f));
    if (existing.length === 0) throw new KubeconfigError(`KUBECONFIG names no file that exists (${env.KUBECONFIG})`);
    return existing;
  }
  const file = path.join(options.home ?? os.homedir(), '.kube', 'config');
  if (!fs.existsSync(file)) {
    throw new KubeconfigError(
      `no kubeconfig: ${file} does not exist and KUBECONFIG is not set. Write one with ` +
        '"aws eks update-kubeconfig --name CLUSTER --region REGION", or pass --kubeconfig PATH',
    );
  }
  return [file];
}

function readDocument(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    const text = fs.readFileSync(file, 'utf8');
    // The parser recurses once per level: thousands of levels would overflow the stack (or abort the process).
    const tooDeep = findExcessiveNesting(text);
    if (tooDeep) throw new Error(`nested more than ${MAX_NESTING} levels deep at line ${tooDeep.line}, column ${tooDeep.column}`);
    doc = parseYaml(text);
  } catch (e) {
    throw new KubeconfigError(`cannot read kubeconfig ${file}: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new KubeconfigError(`kubeconfig ${file} is not a mapping`);
  return doc as Record<string, unknown>;
}

function collect(list: unknown, key: string, into: Map<string, NamedEntry>, dir: string, file: string): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new KubeconfigError(`kubeconfig ${file}: ${key}s must be a list`);
  for (const item of list) {
    const name = item?.name;
    if (typeof name !== 'string' || into.has(name)) continue;
    const value = item[key];
    into.set(name, { name, value: value && typeof value === 'object' ? value : {}, dir });
  }
}

function stringField(value: Record<string, unknown>, key: string): string | undefined {
  const field = value[key];
  return typeof field === 'string' ? field : undefined;
}

/** A value kubectl reads as text (an exec plugin's argument or variable): a string, number or boolean. */
function scalarText(value: unknown, what: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new KubeconfigError(`${what} must be a string, got ${Array.isArray(value) ? 'a list' : value === null ? 'null' : 'a mapping'}`);
}

/** The API server's address: an http(s) URL, checked before any request is made. */
function checkServer(server: string, what: string): void {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeconfigError(`${what}: server ${JSON.stringify(server)} is not a URL; it must be https://HOST[:PORT]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeconfigError(`${what}: server ${JSON.stringify(server)} must be an https:// (or http://) URL, not ${url.protocol}`);
  }
}

/** `<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig's directory). */
function dataOrFile(entry: NamedEntry, key: string): Buffer | undefined {
  const data = stringField(entry.value, `${key}-data`);
  if (data) return Buffer.from(data, 'base64');
  const file = stringField(entry.value, key);
  if (!file) return undefined;
  const resolved = path.resolve(entry.dir, file);
  try {
    return fs.readFileSync(resolved);
  } catch (e) {
    throw new KubeconfigError(`${key} of "${entry.name}": cannot read ${resolved} (${(e as NodeJS.ErrnoException).code})`);
  }
}

function resolveAuth(user: NamedEntry, where: string): KubeAuth {
  const value = user.value;
  const token = stringField(value, 'token');
  if (token) return { kind: 'token', token };
  const tokenFile = stringField(value, 'tokenFile');
  if (tokenFile) return { kind: 'tokenFile', file: path.resolve(user.dir, tokenFile) };
  const exec = value.exec as Record<string, unknown> | undefined;
  if (exec && typeof exec === 'object') {
    const command = stringField(exec, 'command');
    if (!command) throw new KubeconfigError(`user "${user.name}" in ${where}: exec has no command`);
    const execWhere = `user "${user.name}" in ${where}: exec`;
    const env: Record<string, string> = {};
    for (const entry of Array.isArray(exec.env) ? exec.env : []) {
      if (typeof entry?.name === 'string') env[entry.name] = scalarText(entry.value ?? '', `${execWhere}.env ${entry.name}`);
    }
    return {
      kind: 'exec',
      exec: {
        apiVersion: stringField(exec, 'apiVersion'),
        // kubectl resolves a relative command that has a directory part against the kubeconfig's directory.
        command: command.includes('/') && !path.isAbsolute(command) ? path.resolve(user.dir, command) : command,
        args: Array.isArray(exec.args) ? exec.args.map((arg, i) => scalarText(arg, `${execWhere}.args[${i}]`)) : [],
        env,
        installHint: stringField(exec, 'installHint'),
        provideClusterInfo: exec.provideClusterInfo === true,
      },
    };
  }
  const username = stringField(value, 'username');
  if (username !== undefined) return { kind: 'basic', username, password: stringField(value, 'password') ?? '' };
  const provider = value['auth-provider'];
  if (provider) {
    const providerName = (typeof provider === 'object' && stringField(provider as Record<string, unknown>, 'name')) || '?';
    throw new KubeconfigError(
      `user "${user.name}" in ${where} uses auth-provider "${providerName}", which cortex does not support; ` +
        'use an exec credential plugin (for EKS: "aws eks update-kubeconfig" writes one)',
    );
  }
  return { kind: 'none' };
}

const EKS_ARN = /^arn:aws[a-z-]*:eks:([a-z0-9-]+):\d{12}:cluster\/(.+)$/;
const EKS_ENDPOINT = /\.([a-z]{2}(?:-[a-z]+)+-\d)\.eks\.amazonaws\.com(?:\.cn)?$/;

/**
 * The EKS cluster behind a context: `aws eks update-kubeconfig` names the context and the cluster
 * after the cluster's ARN (region and name), and its exec plugin passes `--cluster-name` and
 * `--region` (and `--profile` / `AWS_PROFILE` when given one); the endpoint's host carries the region.
 */
export function eksClusterRef(contextName: string, clusterName: string, server: string, auth: KubeAuth): EksClusterRef {
  const arn = EKS_ARN.exec(contextName) ?? EKS_ARN.exec(clusterName);
  let name = arn?.[2];
  let region = arn?.[1];
  let profile: string | undefined;
  if (auth.kind === 'exec') {
    const args = auth.exec.args;
    const flag = (...names: string[]) => {
      for (let i = 0; i < args.length; i++) {
        for (const n of names) {
          if (args[i] === n && i + 1 < args.length) return args[i + 1];
          if (args[i].startsWith(`${n}=`)) return args[i].slice(n.length + 1);
        }
      }
      return undefined;
    };
    const isAwsCli = path.basename(auth.exec.command) === 'aws' && args.includes('get-token');
    // aws-iam-authenticator: `token -i NAME`
    name ??= isAwsCli ? flag('--cluster-name', '--cluster-id') : flag('-i', '--cluster-id');
    region ??= flag('--region') ?? auth.exec.env.AWS_REGION ?? auth.exec.env.AWS_DEFAULT_REGION;
    profile = flag('--profile') ?? auth.exec.env.AWS_PROFILE;
  }
  if (region === undefined) {
    try {
      region = EKS_ENDPOINT.exec(new URL(server).hostname)?.[1];
    } catch {
      // not a URL: no region from it
    }
  }
  return { name, region, profile };
}

/** Credentials for one request: a bearer token, or a client certificate from an exec plugin. */
export interface RequestCredentials {
  readonly token?: string;
  readonly basic?: { readonly username: string; readonly password: string };
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** Refresh an exec credential this long before it expires. */
const EXPIRY_MARGIN_MS = 30_000;
const EXEC_TIMEOUT_MS = 60_000;

/**
 * The credentials of a context, per request. An exec plugin runs once and its answer is reused until
 * shortly before its `expirationTimestamp` (`aws eks get-token` tokens live 15 minutes), so that
 * `cortex get --watch` does not run `aws` at every refresh.
 */
export class KubeCredentials {
  private cached: { readonly credentials: RequestCredentials; readonly expiresAt: number } | undefined;

  constructor(private readonly target: KubeTarget, private readonly now: () => number = Date.now) {}

  public async get(): Promise<RequestCredentials> {
    const auth = this.target.auth;
    switch (auth.kind) {
      case 'none':
        return {};
      case 'token':
        return { token: auth.token };
      case 'basic':
        return { basic: { username: auth.username, password: auth.password } };
      case 'tokenFile':
        // Re-read at each request, as kubectl does: the file is rotated by whoever writes it.
        try {
          return { token: fs.readFileSync(auth.file, 'utf8').trim() };
        } catch (e) {
          throw new KubeconfigError(`tokenFile of user "${this.target.userName}": cannot read ${auth.file} (${(e as NodeJS.ErrnoException).code})`);
        }
      case 'exec':
        if (this.cached && this.cached.expiresAt - EXPIRY_MARGIN_MS > this.now()) return this.cached.credentials;
        this.cached = await runExecPlugin(auth.exec, this.target);
        return this.cached.credentials;
    }
  }
}

async function runExecPlugin(exec: ExecConfig, target: KubeTarget): Promise<{ credentials: RequestCredentials; expiresAt: number }> {
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1beta1';
  const execInfo = {
    apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? {
            cluster: {
              server: target.server,
              'certificate-authority-data': target.tls.ca?.toString('base64'),
              'insecure-skip-tls-verify': target.tls.insecure,
              'tls-server-name': target.tls.serverName,
            },
          }
        : {}),
    },
  };
  const commandLine = [exec.command, ...exec.args].join(' ');
  const { code, stdout, stderr, error } = await new Promise<{ code: number | null; stdout: string; stderr: string; error?: NodeJS.ErrnoException }>(
    (resolve) => {
      const child = spawn(exec.command, [...exec.args], {
        env: { ...process.env, ...exec.env, KUBERNETES_EXEC_INFO: JSON.stringify(execInfo) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Our own timer, not spawn's `timeout`: spawn's is only cleared on 'exit', which a command that
      // cannot start (ENOENT) never emits, so the CLI would linger until it fired.
      const timer = setTimeout(() => child.kill('SIGTERM'), EXEC_TIMEOUT_MS);
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ code: null, stdout: out, stderr: err, error: e });
      });
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c, stdout: out, stderr: err });
      });
    },
  );
  const who = `the credential plugin of user "${target.userName}" (${commandLine})`;
  if (error) {
    const hint = exec.installHint ? `: ${exec.installHint.trim()}` : path.basename(exec.command) === 'aws' ? ': install the AWS CLI v2' : '';
    throw new KubeconfigError(
      error.code === 'ENOENT' ? `${who} cannot run: ${exec.command} is not installed${hint}` : `${who} cannot run: ${error.message}`,
    );
  }
  if (code !== 0) {
    throw new KubeconfigError(`${who} failed (exit ${code ?? 'on timeout'}): ${stderr.trim() || stdout.trim() || 'no output'}`);
  }
  let status: { token?: string; clientCertificateData?: string; clientKeyData?: string; expirationTimestamp?: string } | undefined;
  try {
    status = JSON.parse(stdout).status;
  } catch {
    throw new KubeconfigError(`${who} printed no ExecCredential JSON: ${stdout.trim().slice(0, 200)}`);
  }
  if (!status || (!status.token && !(status.clientCertificateData && status.clientKeyData))) {
    throw new KubeconfigError(`${who} returned an ExecCredential with neither a token nor a client certificate`);
  }
  for (const key of ['token', 'clientCertificateData', 'clientKeyData', 'expirationTimestamp'] as const) {
    if (status[key] !== undefined && status[key] !== null && typeof status[key] !== 'string') {
      throw new KubeconfigError(`${who} returned an ExecCredential whose status.${key} is not a string`);
    }
  }
  const expiresAt = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Number.POSITIVE_INFINITY;
  return {
    credentials: status.token
      ? { token: status.token }
      : { cert: Buffer.from(status.clientCertificateData!), key: Buffer.from(status.clientKeyData!) },
    expiresAt: Number.isNaN(expiresAt) ? Number.POSITIVE_INFINITY : expiresAt,
  };
}
