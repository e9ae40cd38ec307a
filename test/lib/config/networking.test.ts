import { endpointProblem } from '../../../lib/config/networking';
import { realtimeApiSpec } from '../../../lib/config/definition';
import { containerApi, containerApiProblems, merged, objectProblems, predictorApi, predictorApiProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

const N = '<props>: iris.networking';

describe('networking', () => {
  test('GIVEN no networking WHEN read THEN the endpoint is /<name> and the timeout 600s', () => {
    expect(realtimeSpecOf(containerApi()).networking).toEqual({ endpoint: '/iris', timeoutSeconds: 600 });
  });

  test('GIVEN an endpoint and a timeout WHEN read THEN they are kept, the timeout in seconds', () => {
    expect(realtimeSpecOf(merged(containerApi(), { networking: { endpoint: '/v1/iris', timeout: '1m30s' } })).networking).toEqual({
      endpoint: '/v1/iris',
      timeoutSeconds: 90,
    });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['an endpoint without its leading slash', { endpoint: 'iris' }, [`${N}.endpoint: must start with "/", got "iris"`]],
    ['the root', { endpoint: '/' }, [`${N}.endpoint: must not be "/" alone (the root of the gateway); use a path such as "/iris"`]],
    ['a trailing slash', { endpoint: '/iris/' }, [`${N}.endpoint: must not end with "/", got "/iris/"`]],
    ['an empty segment', { endpoint: '/a//b' }, [`${N}.endpoint: must not contain "//", got "/a//b"`]],
    ['a query string', { endpoint: '/iris?v=1' }, [`${N}.endpoint: may contain only letters, digits, "/", "-", "_" and ".", got "/iris?v=1"`]],
    ['a number', { endpoint: 5 }, [`${N}.endpoint: must be a string, got 5 (quote it: "5")`]],
    ['a timeout of 1ms', { timeout: '1ms' }, []],
    ['a timeout of 0s', { timeout: '0s' }, [`${N}.timeout: must be longer than 0s, got "0s"`]],
    [
      "Cortex v0.30's api_gateway",
      { api_gateway: 'public' },
      [`${N}.api_gateway: unknown field "api_gateway"; api_gateway is from Cortex v0.30 and not supported: every API is served behind the one gateway of the cluster`],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, networking, expected) => {
    expect(containerApiProblems({ networking })).toEqual(expected);
  });
});

describe('networking.auth.api_keys', () => {
  test('GIVEN {secret: NAME} on a container-form API WHEN read THEN the Secret is kept', () => {
    // WHEN
    const spec = realtimeSpecOf(merged(containerApi(), { networking: { auth: { api_keys: { secret: 'iris-keys.v1' } } } }));
    // THEN
    expect(spec.networking).toEqual({ endpoint: '/iris', timeoutSeconds: 600, auth: { apiKeys: { secret: 'iris-keys.v1' } } });
  });

  test('GIVEN api_keys: {} on a predictor-form API WHEN read THEN the Secret is <name>-api-keys', () => {
    const spec = realtimeSpecOf(merged(predictorApi(), { networking: { auth: { api_keys: {} } } }));
    expect(spec.networking.auth).toEqual({ apiKeys: { secret: 'iris-api-keys' } });
  });

  test('GIVEN api_keys with no value WHEN read THEN the default Secret too', () => {
    expect(realtimeSpecOf(merged(containerApi(), { networking: { auth: { api_keys: null } } })).networking.auth).toEqual({
      apiKeys: { secret: 'iris-api-keys' },
    });
  });

  test('GIVEN no auth WHEN read THEN none: the spec has no auth field', () => {
    expect(realtimeSpecOf(containerApi()).networking).not.toHaveProperty('auth');
  });

  test('GIVEN apiKeys in a TypeScript definition WHEN converted THEN the same spec', () => {
    const spec = realtimeApiSpec({
      name: 'iris',
      pod: { containers: [{ name: 'api', image: 'iris:1' }] },
      networking: { auth: { apiKeys: { secret: 'keys' } } },
    });
    expect(spec.networking.auth).toEqual({ apiKeys: { secret: 'keys' } });
  });

  test.each<[string, unknown, string[]]>([
    [
      'a Secret name with upper case',
      { api_keys: { secret: 'Iris_Keys' } },
      [
        `${N}.auth.api_keys.secret: must be the name of a Secret, a DNS-1123 subdomain: at most 253 lower-case letters, digits, "-" and ".", each "."-separated part starting and ending with a letter or digit; got "Iris_Keys"`,
      ],
    ],
    ['a Secret name of 254 characters', { api_keys: { secret: 'a'.repeat(254) } }, [expect.stringMatching(/auth\.api_keys\.secret: must be the name of a Secret/) as unknown as string]],
    ['a number as the Secret', { api_keys: { secret: 5 } }, [`${N}.auth.api_keys.secret: must be a string, got 5 (quote it: "5")`]],
    ['the Secret name alone', { api_keys: 'iris-keys' }, [`${N}.auth.api_keys: must be a mapping, got "iris-keys"`]],
    ['an unknown key', { api_keys: { secrets: 'x' } }, [`${N}.auth.api_keys.secrets: unknown field "secrets"; did you mean "secret"?`]],
    ['auth without api_keys', {}, [`${N}.auth: must set api_keys, such as auth: {api_keys: {secret: NAME}}; an empty auth would serve the API to anyone`]],
    ['auth with no value', null, [`${N}.auth: must set api_keys, such as auth: {api_keys: {secret: NAME}}; an empty auth would serve the API to anyone`]],
    ['apikeys', { apikeys: { secret: 'x' } }, [`${N}.auth.apikeys: unknown field "apikeys"; did you mean "api_keys"?`]],
  ])('GIVEN %s WHEN validated THEN the field, the value and what is allowed', (_, auth, expected) => {
    expect(containerApiProblems({ networking: { auth } })).toEqual(expected);
  });

  test('GIVEN a bad Secret name on a predictor-form API WHEN validated THEN the same problem', () => {
    expect(predictorApiProblems({ networking: { auth: { api_keys: { secret: '-x' } } } })).toEqual([
      expect.stringMatching(/^<props>: iris\.networking\.auth\.api_keys\.secret: must be the name of a Secret.*got "-x"$/),
    ]);
  });

  test('GIVEN a bad Secret name in a file WHEN validated THEN FILE:LINE:COL at the value', () => {
    // GIVEN
    const yaml = ['- name: iris', '  kind: RealtimeAPI', '  pod:', '    containers: [{name: api, image: "iris:1"}]', '  networking:', '    auth:', '      api_keys: {secret: Keys}', ''].join('\n');
    // WHEN / THEN
    expect(problemsOf(yaml)).toEqual([expect.stringMatching(/^cortex\.yaml:7:26: iris\.networking\.auth\.api_keys\.secret: must be the name of a Secret, a DNS-1123 subdomain.*got "Keys"$/)]);
  });

  test('GIVEN auth on a TrafficSplitter WHEN validated THEN refused: its APIs check their own keys', () => {
    const splitter = { name: 'split', kind: 'TrafficSplitter', networking: { auth: { api_keys: {} } }, apis: [{ name: 'iris', weight: 100 }] };
    expect(objectProblems([containerApi(), splitter])).toEqual([
      `<props>: split.networking.auth: unknown field "auth"; auth belongs to the RealtimeAPIs a TrafficSplitter routes to: each one's proxy checks its own keys`,
    ]);
  });
});

describe('endpointProblem', () => {
  test.each([['/iris'], ['/v1/iris-classifier'], ['/a.b_c']])('GIVEN %j WHEN checked THEN it is fine', (endpoint) => {
    expect(endpointProblem(endpoint)).toBeUndefined();
  });
});
