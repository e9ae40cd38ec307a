import { containerApi, containerApiProblems, merged, problemsOf, realtimeSpecOf } from './config-fixtures';

const U = '<props>: iris.update_strategy';

describe('update_strategy', () => {
  test('GIVEN no update_strategy WHEN read THEN both are 25%', () => {
    expect(realtimeSpecOf(containerApi()).updateStrategy).toEqual({ maxSurge: '25%', maxUnavailable: '25%' });
  });

  test('GIVEN a count and a percentage WHEN read THEN each keeps its form', () => {
    expect(realtimeSpecOf(merged(containerApi(), { update_strategy: { max_surge: 2, max_unavailable: '0%' } })).updateStrategy).toEqual({
      maxSurge: 2,
      maxUnavailable: '0%',
    });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['max_surge 0 with the default max_unavailable', { max_surge: 0 }, []],
    ['max_unavailable "100%"', { max_unavailable: '100%' }, []],
    ['max_surge "0%"', { max_surge: '0%' }, []],
    [
      'max_unavailable "101%"',
      { max_unavailable: '101%' },
      [`${U}.max_unavailable: must be an integer >= 0 or a percentage from 0% to 100% such as "25%", got "101%"`],
    ],
    ['max_surge -1', { max_surge: -1 }, [`${U}.max_surge: must be an integer >= 0 or a percentage from 0% to 100% such as "25%", got -1`]],
    ['max_surge "3"', { max_surge: '3' }, [`${U}.max_surge: must be an integer >= 0 or a percentage from 0% to 100% such as "25%", got "3"`]],
    ['max_surge 1.5', { max_surge: 1.5 }, [`${U}.max_surge: must be an integer >= 0 or a percentage from 0% to 100% such as "25%", got 1.5`]],
    ['max_surge "12.5%"', { max_surge: '12.5%' }, [`${U}.max_surge: must be an integer >= 0 or a percentage from 0% to 100% such as "25%", got "12.5%"`]],
    [
      'both 0',
      { max_surge: 0, max_unavailable: '0%' },
      [`${U}.max_unavailable: max_surge and max_unavailable cannot both be 0 (the rollout could not replace any pod)`],
    ],
    ['a misspelt key', { max_surges: 1 }, [`${U}.max_surges: unknown field "max_surges"; did you mean "max_surge"?`]],
  ])('GIVEN %s WHEN validated THEN %p', (_, updateStrategy, expected) => {
    expect(containerApiProblems({ update_strategy: updateStrategy })).toEqual(expected);
  });

  test('GIVEN both 0 in YAML WHEN validated THEN the problem points at max_unavailable', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: a}]}
  update_strategy:
    max_surge: 0
    max_unavailable: 0
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:6:22: iris.update_strategy.max_unavailable: max_surge and max_unavailable cannot both be 0 (the rollout could not replace any pod)',
    ]);
  });
});
