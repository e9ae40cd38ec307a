import { parseImageReference, pinnedReference, tagOf, type ImageReference } from '../../../lib/config/image-reference';

function parse(text: string): ImageReference {
  const result = parseImageReference(text);
  if ('problem' in result) throw new Error(result.problem);
  return result.reference;
}

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  test.each([
    ['redis', { registry: 'docker.io', repository: 'library/redis', name: 'redis', tag: undefined }],
    ['redis:7.4-alpine', { registry: 'docker.io', repository: 'library/redis', name: 'redis', tag: '7.4-alpine' }],
    ['hashicorp/http-echo:1.0', { registry: 'docker.io', repository: 'hashicorp/http-echo', name: 'hashicorp/http-echo', tag: '1.0' }],
    ['docker.io/library/redis:7', { registry: 'docker.io', repository: 'library/redis', name: 'docker.io/library/redis', tag: '7' }],
    ['index.docker.io/redis:7', { registry: 'docker.io', repository: 'library/redis', name: 'index.docker.io/redis', tag: '7' }],
    ['ghcr.io/huggingface/text-generation-inference:3.3.5', { registry: 'ghcr.io', repository: 'huggingface/text-generation-inference', tag: '3.3.5' }],
    ['localhost:5000/team/model', { registry: 'localhost:5000', repository: 'team/model', tag: undefined }],
    ['localhost/model:1', { registry: 'localhost', repository: 'model', tag: '1' }],
    ['127.0.0.1:5000/model:v1', { registry: '127.0.0.1:5000', repository: 'model', tag: 'v1' }],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/iris:v2', { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'ml/iris', tag: 'v2' }],
    ['Registry/model:1', { registry: 'Registry', repository: 'model', tag: '1' }],
  ])('GIVEN %s THEN registry, repository and tag as Docker reads them', (text, expected) => {
    const reference = parse(text) as unknown as Record<string, unknown>;
    const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, reference[k]]));
    expect(picked).toEqual(expected);
    expect(reference.written).toBe(text);
  });

  test('GIVEN a digest reference THEN the digest is kept apart from the tag', () => {
    expect(parse(`redis:7@${DIGEST}`)).toMatchObject({ name: 'redis', tag: '7', digest: DIGEST });
    expect(parse(`redis@${DIGEST}`)).toMatchObject({ name: 'redis', digest: DIGEST });
  });

  test.each([
    ['', /empty or holds whitespace/],
    ['redis :7', /whitespace/],
    ['Redis:7', /repository part "Redis" must be lowercase/],
    ['team/Model:1', /repository part "Model"/],
    ['redis:-bad', /the tag "-bad"/],
    ['redis@sha256:short', /the digest "sha256:short"/],
    ['reg_istry.io/x:1', /registry "reg_istry.io" is not a host name/],
  ])('GIVEN %j THEN a problem naming the part', (text, message) => {
    const result = parseImageReference(text);
    expect('problem' in result && result.problem).toMatch(message);
  });

  test('GIVEN a reference thousands of characters long WHEN refused THEN the problem quotes its start only', () => {
    const result = parseImageReference(`Repo/${'x'.repeat(100_000)}`);
    const problem = 'problem' in result ? result.problem : '';
    expect(problem).toMatch(/^"Repo\/x{55}…" is not an image reference: the name is longer than 255 characters$/);
  });
});

describe('tagOf and pinnedReference', () => {
  test('GIVEN no tag THEN latest, as docker pull does', () => {
    expect(tagOf(parse('redis'))).toBe('latest');
    expect(tagOf(parse('redis:7'))).toBe('7');
  });

  test('GIVEN a digest THEN the name as written and the digest, without the tag', () => {
    expect(pinnedReference(parse('hashicorp/http-echo:1.0'), DIGEST)).toBe(`hashicorp/http-echo@${DIGEST}`);
    expect(pinnedReference(parse('localhost:5000/model:1'), DIGEST)).toBe(`localhost:5000/model@${DIGEST}`);
  });
});
