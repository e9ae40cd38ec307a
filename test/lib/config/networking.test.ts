import { endpointProblem } from '../../../lib/config/networking';
import { containerApi, containerApiProblems, merged, realtimeSpecOf } from './config-fixtures';

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

describe('endpointProblem', () => {
  test.each([['/iris'], ['/v1/iris-classifier'], ['/a.b_c']])('GIVEN %j WHEN checked THEN it is fine', (endpoint) => {
    expect(endpointProblem(endpoint)).toBeUndefined();
  });
});
