import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { API_NAME_LABEL, DEFAULT_NAMESPACE, MANAGED_BY, MANAGED_BY_LABEL } from '../../constructs/names';
import { API_KEYS_SECRET_KEY, API_KEYS_VOLUME_NAME } from '../../constructs/proxy-sidecar';
import { parseApiKeys } from '../../images/proxy/src/api-keys';
import { defaultApiKeysSecret } from '../../lib/config/defaults';
import { DNS_1035_LABEL, DNS_1123_SUBDOMAIN } from '../../lib/config/names';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK, UsageError } from './io';
import { KubeApiError, KubeClient, KubeConnectionError } from './kube/client';
import { KubeconfigError, loadKubeconfig } from './kube/kubeconfig';
import { formatTable } from './term';

export const keysUsage = `Usage: cortex keys create API [options]
       cortex keys list API [options]
       cortex keys revoke API ID [options]

The API keys of an API with networking.auth.api_keys. They live in a Kubernetes Secret in the API's
namespace, whose "${API_KEYS_SECRET_KEY}" key holds the SHA-256 hash of each key, one a line (the keys
themselves are stored nowhere). The API's proxy sidecars read it again as it changes: a new key works, and
a revoked one gets 401, within a minute or two (the kubelet's update of the Secret volume), with no restart.

  create   make a random key, print it once on stdout, add its hash; the client sends it as
           "x-api-key: <key>" (or "Authorization: Bearer <key>" on a cluster without JWT APIs)
  list     the keys' ids (the first 12 hex digits of their hash) and when they were created
  revoke   remove the key whose id starts with ID

Options:
      --secret NAME        the Secret (default: the one the deployed API mounts, else API-api-keys)
      --keys-file PATH     a local keys file instead of a Secret (for cortex local --api-keys-file)
  -n, --namespace NS       the namespace of the APIs (default: ${DEFAULT_NAMESPACE})
      --kubeconfig PATH    the kubeconfig (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME       the kubeconfig context (default: its current context)
  -h, --help               show this help
`;

/** A key: a prefix that says what it is (secret scanners and people recognize it), then 256 random bits. */
export const KEY_PREFIX = 'ck_';
/** The shortest id prefix `revoke` takes (6 hex digits: one in 16 million). */
const MIN_ID_LENGTH = 6;
const ID_LENGTH = 12;

/** A new random key. */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** One key of a keys file: its hash, its id and, when the line says it, its creation time. */
export interface KeyEntry {
  readonly id: string;
  readonly hash: string;
  readonly created?: string;
}

/** The line `create` appends: the hash, and a comment with the creation time (the proxy ignores comments). */
export function keyLine(key: string, created: Date): string {
  return `${createHash('sha256').update(key, 'latin1').digest('hex')}  # created=${created.toISOString()}`;
}

/** The keys of a keys file's text (as the proxy reads it: a bad line throws, naming `file` and the line). */
export function keyEntries(text: string, file: string): KeyEntry[] {
  parseApiKeys(text, file);
  const entries: KeyEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const hash = line.slice(0, 64).toLowerCase();
    const created = /#.*\bcreated=(\S+)/.exec(line)?.[1];
    entries.push({ id: hash.slice(0, ID_LENGTH), hash, created });
  }
  return entries;
}

/** `text` without the line of the key whose id starts with `id`; throws KeysError when none or several do. */
export function withoutKey(text: string, id: string, file: string, apiName: string): string {
  const wanted = id.toLowerCase();
  const matches = keyEntries(text, file).filter((e) => e.hash.startsWith(wanted));
  if (matches.length === 0) throw new KeysError(`${apiName} has no key ${id} (cortex keys list ${apiName} shows their ids)`);
  if (matches.length > 1) throw new KeysError(`${id} is the start of ${matches.length} keys' ids (${matches.map((m) => m.id).join(', ')}): give more of it`);
  const hash = matches[0].hash;
  return text
    .split('\n')
    .filter((raw) => raw.trim().slice(0, 64).toLowerCase() !== hash)
    .join('\n');
}

/** A failure to report as it is (exit 1). */
export class KeysError extends Error {}

interface Secret {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [key: string]: unknown };
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** Where the keys are: a Secret in the cluster, or a local file. */
interface KeyStore {
  /** How to name it in messages. */
  readonly where: string;
  read(): Promise<string>;
  write(text: string): Promise<void>;
}

class FileStore implements KeyStore {
  constructor(private readonly file: string) {}

  public get where(): string {
    return this.file;
  }

  public async read(): Promise<string> {
    return fs.existsSync(this.file) ? fs.readFileSync(this.file, 'utf8') : '';
  }

  public async write(text: string): Promise<void> {
    // Written whole and renamed over the file: the proxy never reads half of it.
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, text, { mode: 0o600 });
    fs.renameSync(temporary, this.file);
  }
}

class SecretStore implements KeyStore {
  private secret: Secret | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
    private readonly apiName: string,
  ) {}

  public get where(): string {
    return `Secret ${this.namespace}/${this.name}`;
  }

  private get path(): string {
    return `/api/v1/namespaces/${this.namespace}/secrets`;
  }

  public async read(): Promise<string> {
    this.secret = await this.client.getOptional<Secret>(`${this.path}/${this.name}`);
    const data = this.secret?.data?.[API_KEYS_SECRET_KEY];
    return data === undefined ? '' : Buffer.from(data, 'base64').toString('utf8');
  }

  public async write(text: string): Promise<void> {
    const data = Buffer.from(text, 'utf8').toString('base64');
    try {
      if (this.secret === undefined) {
        await this.client.write('POST', this.path, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: this.name, namespace: this.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [API_NAME_LABEL]: this.apiName } },
          type: 'Opaque',
          data: { [API_KEYS_SECRET_KEY]: data },
        });
      } else {
        // The resourceVersion read goes back: a change made meanwhile (another `cortex keys`) is a 409, not lost.
        await this.client.write('PUT', `${this.path}/${this.name}`, { ...this.secret, data: { ...this.secret.data, [API_KEYS_SECRET_KEY]: data } });
      }
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 409) {
        throw new KeysError(`${this.where} changed while this command ran (another cortex keys?): nothing written, run it again`);
      }
      throw e;
    }
  }
}

interface Deployment {
  spec?: { template?: { spec?: { volumes?: Array<{ name: string; secret?: { secretName?: string } }> } } };
}

/** The Secret the deployed API mounts, if it is deployed and asks for keys. */
async function mountedSecret(client: KubeClient, namespace: string, apiName: string): Promise<{ deployed: boolean; secret?: string }> {
  const list = await client.list<Deployment>(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
    labelSelector: `${API_NAME_LABEL}=${apiName}`,
  });
  if (list.items.length === 0) return { deployed: false };
  const volume = list.items[0].spec?.template?.spec?.volumes?.find((v) => v.name === API_KEYS_VOLUME_NAME);
  return { deployed: true, secret: volume?.secret?.secretName };
}

/** `cortex keys create|list|revoke API [ID]`. */
export async function keysCommand(argv: string[], io: CliIo, now: () => Date = () => new Date()): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      secret: { type: 'string' },
      'keys-file': { type: 'string' },
      namespace: { type: 'string', short: 'n', default: DEFAULT_NAMESPACE },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
    },
    3,
  );
  if (values.help) {
    io.out(keysUsage);
    return EXIT_OK;
  }
  const [action, apiName, id] = positionals;
  if (action === undefined) throw new UsageError('missing the action: create, list or revoke');
  if (!['create', 'list', 'revoke'].includes(action)) throw new UsageError(`unknown action "${action}": create, list or revoke`);
  if (apiName === undefined) throw new UsageError(`missing API: the name of the API whose keys to ${action === 'list' ? 'list' : action}`);
  if (!DNS_1035_LABEL.test(apiName)) throw new UsageError(`API must be an API's name (lower-case letters, digits and "-"), got "${apiName}"`);
  if (action === 'revoke' && id === undefined) throw new UsageError('missing ID: the key to revoke (cortex keys list API shows the ids)');
  if (action === 'revoke' && !new RegExp(`^[0-9a-fA-F]{${MIN_ID_LENGTH},64}$`).test(id as string)) {
    throw new UsageError(`ID must be at least ${MIN_ID_LENGTH} hex digits of a key's id (cortex keys list API shows them), got "${id}"`);
  }
  if (action !== 'revoke' && id !== undefined) throw new UsageError(`unexpected argument "${id}"`);
  const secretName = values.secret as string | undefined;
  if (secretName !== undefined && (secretName.length > 253 || !DNS_1123_SUBDOMAIN.test(secretName))) {
    throw new UsageError(`--secret must be a Secret's name (a DNS-1123 subdomain: lower-case letters, digits, "-" and "."), got "${secretName}"`);
  }
  const keysFile = values['keys-file'] as string | undefined;
  if (keysFile !== undefined && secretName !== undefined) throw new UsageError('--keys-file and --secret: give one (a local file or a Secret)');

  if (keysFile !== undefined) return run(new FileStore(path.resolve(io.cwd, keysFile)), action, apiName, id, io, now);

  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeconfig({ kubeconfig: values.kubeconfig as string | undefined, context: values.context as string | undefined, cwd: io.cwd }));
  } catch (e) {
    if (!(e instanceof KubeconfigError)) throw e;
    io.err(`cortex keys: ${e.message}\n`);
    return EXIT_INVALID;
  }
  const namespace = values.namespace as string;
  try {
    let name = secretName;
    if (name === undefined) {
      const mounted = await mountedSecret(client, namespace, apiName);
      name = mounted.secret ?? defaultApiKeysSecret(apiName);
      if (mounted.deployed && mounted.secret === undefined && action === 'create') {
        io.err(
          `cortex keys: note: ${apiName} is deployed without networking.auth.api_keys: it serves anyone until it sets ` +
            `networking.auth: {api_keys: {secret: ${name}}} (or {}) and is deployed again\n`,
        );
      }
    }
    return await run(new SecretStore(client, namespace, name, apiName), action, apiName, id, io, now);
  } catch (e) {
    if (e instanceof KubeApiError || e instanceof KubeConnectionError || e instanceof KubeconfigError) {
      io.err(`cortex keys: ${e.message}\n`);
      return EXIT_INVALID;
    }
    throw e;
  } finally {
    client.close();
  }
}

async function run(store: KeyStore, action: string, apiName: string, id: string | undefined, io: CliIo, now: () => Date): Promise<number> {
  try {
    const text = await store.read();
    if (action === 'list') {
      const entries = keyEntries(text, store.where);
      if (entries.length === 0) {
        io.err(`cortex keys: ${apiName} has no keys in ${store.where} (cortex keys create ${apiName} makes one)\n`);
        return EXIT_OK;
      }
      io.out(formatTable(['ID', 'CREATED'], entries.map((e) => [e.id, e.created ?? '-'])));
      return EXIT_OK;
    }
    if (action === 'create') {
      keyEntries(text, store.where);
      const key = generateKey();
      const line = keyLine(key, now());
      const next = text === '' ? `# API keys of ${apiName}: SHA-256 hashes, one a line (cortex keys)\n${line}\n` : `${text.replace(/\n?$/, '\n')}${line}\n`;
      await store.write(next);
      io.out(`${key}\n`);
      io.err(
        `cortex keys: key ${line.slice(0, ID_LENGTH)} of ${apiName} added to ${store.where}. The key above is shown only now: ` +
          `give it to the client, which sends it as "x-api-key: <key>" (or "Authorization: Bearer <key>" on a cluster without JWT APIs)\n`,
      );
      return EXIT_OK;
    }
    const next = withoutKey(text, id as string, store.where, apiName);
    await store.write(next);
    io.err(`cortex keys: key ${id} of ${apiName} removed from ${store.where}; the API refuses it (401) once its pods read the change\n`);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof KeysError || (e instanceof Error && e.name === 'ApiKeysFileError')) {
      io.err(`cortex keys: ${e.message}\n`);
      return EXIT_INVALID;
    }
    throw e;
  }
}
