import { endpointProblem } from '../../../lib/config/networking';
import { configFromObject } from '../../../lib/config';
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
    // Istio refuses a VirtualService timeout finer than a millisecond: caught here, not half-way through a deploy.
    ['a timeout of 1.0005s', { timeout: '1.0005s' }, [`${N}.timeout: must be a multiple of 1ms, got "1.0005s"`]],
    ['a timeout of 0.5ms', { timeout: '0.5ms' }, [`${N}.timeout: must be a multiple of 1ms, got "0.5ms"`]],
    ['a timeout of 0s', { timeout: '0s' }, [`${N}.timeout: must be longer than 0s, got "0s"`]],
    ['a timeout of 1h, the longest', { timeout: '1h' }, []],
    ['a timeout over 1h', { timeout: '1h0m1s' }, [`${N}.timeout: must be at most 1h, got "1h0m1s"`]],
    ['a timeout of 2h', { timeout: '2h' }, [`${N}.timeout: must be at most 1h, got "2h"`]],
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
    ['auth without api_keys', {}, [`${N}.auth: must set api_keys or jwt, such as auth: {api_keys: {secret: NAME}}; an empty auth would serve the API to anyone`]],
    ['auth with no value', null, [`${N}.auth: must set api_keys or jwt, such as auth: {api_keys: {secret: NAME}}; an empty auth would serve the API to anyone`]],
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

  test('GIVEN api_keys on a TrafficSplitter WHEN validated THEN refused: its APIs check their own keys', () => {
    const splitter = { name: 'split', kind: 'TrafficSplitter', networking: { auth: { api_keys: {} } }, apis: [{ name: 'iris', weight: 100 }] };
    expect(objectProblems([containerApi(), splitter])).toEqual([
      `<props>: split.networking.auth.api_keys: unknown field "api_keys"; api_keys belongs to the RealtimeAPIs a TrafficSplitter routes to: each one's proxy checks its own keys; a splitter may set jwt, checked at the gateway on its own endpoint`,
    ]);
  });

  test('GIVEN an empty auth on a TrafficSplitter WHEN validated THEN refused with the jwt example', () => {
    const splitter = { name: 'split', kind: 'TrafficSplitter', networking: { auth: {} }, apis: [{ name: 'iris', weight: 100 }] };
    expect(objectProblems([containerApi(), splitter])).toEqual([
      '<props>: split.networking.auth: must set jwt, such as auth: {jwt: {issuer: URL}}; an empty auth would serve the API to anyone',
    ]);
  });
});

const POOL = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123';
const JWKS = `${POOL}/.well-known/jwks.json`;

describe('networking.auth.jwt', () => {
  test('GIVEN issuer, jwks_uri and audiences WHEN read THEN all three are kept', () => {
    // WHEN
    const spec = realtimeSpecOf(merged(containerApi(), { networking: { auth: { jwt: { issuer: POOL, jwks_uri: JWKS, audiences: ['client-a', 'client-b'] } } } }));
    // THEN
    expect(spec.networking.auth).toEqual({ jwt: { issuer: POOL, jwksUri: JWKS, audiences: ['client-a', 'client-b'] } });
  });

  test('GIVEN the issuer alone on a predictor-form API WHEN read THEN no jwksUri (discovery) and no audiences (any)', () => {
    const spec = realtimeSpecOf(merged(predictorApi(), { networking: { auth: { jwt: { issuer: POOL } } } }));
    expect(spec.networking.auth).toEqual({ jwt: { issuer: POOL } });
  });

  test('GIVEN api_keys and jwt WHEN read THEN both: a request must carry both', () => {
    const spec = realtimeSpecOf(merged(containerApi(), { networking: { auth: { api_keys: {}, jwt: { issuer: POOL } } } }));
    expect(spec.networking.auth).toEqual({ apiKeys: { secret: 'iris-api-keys' }, jwt: { issuer: POOL } });
  });

  test('GIVEN an e-mail issuer with jwks_uri WHEN read THEN kept: only discovery needs a URL', () => {
    const issuer = 'robot@project.iam.gserviceaccount.com';
    const jwksUri = 'https://www.googleapis.com/service_accounts/v1/jwk/robot@project.iam.gserviceaccount.com';
    expect(realtimeSpecOf(merged(containerApi(), { networking: { auth: { jwt: { issuer, jwks_uri: jwksUri } } } })).networking.auth).toEqual({
      jwt: { issuer, jwksUri },
    });
  });

  test('GIVEN jwt in a TypeScript definition WHEN converted THEN the same spec', () => {
    const spec = realtimeApiSpec({
      name: 'iris',
      pod: { containers: [{ name: 'api', image: 'iris:1' }] },
      networking: { auth: { jwt: { issuer: POOL, jwksUri: JWKS, audiences: ['client-a'] } } },
    });
    expect(spec.networking.auth).toEqual({ jwt: { issuer: POOL, jwksUri: JWKS, audiences: ['client-a'] } });
  });

  test.each<[string, unknown, string[]]>([
    ['no issuer', { jwks_uri: JWKS }, [`${N}.auth.jwt.issuer: required`]],
    ['jwt with no value', null, [`${N}.auth.jwt: required`]],
    ['the issuer alone as a string', POOL, [`${N}.auth.jwt: must be a mapping, got "${POOL}"`]],
    [
      'an http issuer without jwks_uri',
      { issuer: 'http://idp.example.com' },
      [
        `${N}.auth.jwt.issuer: must be the https:// URL of the token issuer (its /.well-known/openid-configuration names the key set; or set jwks_uri): the scheme is "http", not https, got "http://idp.example.com"`,
      ],
    ],
    [
      'a bare name as the issuer without jwks_uri',
      { issuer: 'my-pool' },
      [`${N}.auth.jwt.issuer: must be the https:// URL of the token issuer (its /.well-known/openid-configuration names the key set; or set jwks_uri): not a URL, got "my-pool"`],
    ],
    ['an issuer with a wildcard', { issuer: 'https://idp.example.com/*' }, [`${N}.auth.jwt.issuer: must not contain "*" (the gateway would read it as a wildcard), got "https://idp.example.com/*"`]],
    ['an issuer with a space', { issuer: 'my pool', jwks_uri: JWKS }, [`${N}.auth.jwt.issuer: must not contain whitespace, got "my pool"`]],
    [
      'an http jwks_uri',
      { issuer: POOL, jwks_uri: 'http://idp.example.com/jwks.json' },
      [`${N}.auth.jwt.jwks_uri: must be the https:// URL of the JSON Web Key Set: the scheme is "http", not https, got "http://idp.example.com/jwks.json"`],
    ],
    [
      'credentials in jwks_uri',
      { issuer: POOL, jwks_uri: 'https://user:secret@idp.example.com/jwks.json' },
      [`${N}.auth.jwt.jwks_uri: must be the https:// URL of the JSON Web Key Set: credentials in the URL, got "https://user:secret@idp.example.com/jwks.json"`],
    ],
    [
      'a jwks_uri of 2049 characters',
      { issuer: POOL, jwks_uri: `https://idp.example.com/${'a'.repeat(2025)}` },
      [expect.stringMatching(/auth\.jwt\.jwks_uri: must be the https:\/\/ URL of the JSON Web Key Set: longer than 2048 characters, got "https/) as unknown as string],
    ],
    ['an empty list of audiences', { issuer: POOL, audiences: [] }, [`${N}.auth.jwt.audiences: must list at least one audience`]],
    ['one audience as a string', { issuer: POOL, audiences: 'client-a' }, [`${N}.auth.jwt.audiences: must be a list, got "client-a"`]],
    ['an empty audience', { issuer: POOL, audiences: ['client-a', ' '] }, [`${N}.auth.jwt.audiences[1]: must not be empty, got " "`]],
    ['a number as an audience', { issuer: POOL, audiences: [5] }, [`${N}.auth.jwt.audiences[0]: must be a string, got 5 (quote it: "5")`]],
    ['an audience with a wildcard', { issuer: POOL, audiences: ['client-*'] }, [`${N}.auth.jwt.audiences[0]: must not contain "*" (the gateway would read it as a wildcard), got "client-*"`]],
    ['jwksUri in a file', { issuer: POOL, jwksUri: JWKS }, [`${N}.auth.jwt.jwksUri: unknown field "jwksUri"; did you mean "jwks_uri"?`]],
    ['audience', { issuer: POOL, audience: ['a'] }, [`${N}.auth.jwt.audience: unknown field "audience"; did you mean "audiences"?`]],
  ])('GIVEN %s WHEN validated THEN the field, the value and what is allowed', (_, jwt, expected) => {
    expect(containerApiProblems({ networking: { auth: { jwt } } })).toEqual(expected);
  });

  test('GIVEN a bad jwks_uri in a file WHEN validated THEN FILE:LINE:COL at the value', () => {
    // GIVEN
    const yaml = [
      '- name: iris',
      '  kind: RealtimeAPI',
      '  pod:',
      '    containers: [{name: api, image: "iris:1"}]',
      '  networking:',
      '    auth:',
      '      jwt:',
      `        issuer: ${POOL}`,
      '        jwks_uri: ftp://idp.example.com/keys',
      '',
    ].join('\n');
    // WHEN / THEN
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:9:19: iris.networking.auth.jwt.jwks_uri: must be the https:// URL of the JSON Web Key Set: the scheme is "ftp", not https, got "ftp://idp.example.com/keys"',
    ]);
  });

  test('GIVEN jwt on a TrafficSplitter WHEN read THEN kept: the gateway checks the splitter\'s own endpoint', () => {
    const splitter = { name: 'split', kind: 'TrafficSplitter', networking: { auth: { jwt: { issuer: POOL } } }, apis: [{ name: 'iris', weight: 100 }] };
    const config = configFromObject([containerApi(), splitter]);
    expect(config.splitters[0].networking.auth).toEqual({ jwt: { issuer: POOL } });
  });

  test('GIVEN a splitter without jwt routing to a JWT API WHEN validated THEN refused at the target: it would bypass the token', () => {
    // GIVEN
    const api = merged(containerApi(), { networking: { auth: { jwt: { issuer: POOL } } } });
    const other = { ...containerApi(), name: 'iris2' };
    const splitter = { name: 'split', kind: 'TrafficSplitter', apis: [{ name: 'iris2', weight: 50 }, { name: 'iris', weight: 50 }] };
    // WHEN / THEN
    expect(objectProblems([api, other, splitter])).toEqual([
      '<props>: split.apis[1].name: "iris" requires a JSON Web Token (networking.auth.jwt), and this splitter would serve it at "/split" without one: set networking.auth.jwt on the splitter too',
    ]);
  });

  test('GIVEN a splitter with its own jwt routing to a JWT API WHEN validated THEN fine', () => {
    const api = merged(containerApi(), { networking: { auth: { jwt: { issuer: POOL } } } });
    const splitter = { name: 'split', kind: 'TrafficSplitter', networking: { auth: { jwt: { issuer: 'https://other.example.com' } } }, apis: [{ name: 'iris', weight: 100 }] };
    expect(objectProblems([api, splitter])).toEqual([]);
  });
});

describe('endpointProblem', () => {
  test.each([['/iris'], ['/v1/iris-classifier'], ['/a.b_c']])('GIVEN %j WHEN checked THEN it is fine', (endpoint) => {
    expect(endpointProblem(endpoint)).toBeUndefined();
  });
});
