import { merged, predictorApi, predictorApiProblems, realtimeSpecOf } from './config-fixtures';

describe('tracker', () => {
  test('GIVEN no tracker WHEN read THEN there is none', () => {
    expect(realtimeSpecOf(predictorApi()).tracker).toBeUndefined();
  });

  test('GIVEN a tracker WHEN read THEN key and model type are kept', () => {
    expect(realtimeSpecOf(merged(predictorApi(), { tracker: { key: 'label', model_type: 'classification' } })).tracker).toEqual({
      key: 'label',
      modelType: 'classification',
    });
    expect(realtimeSpecOf(merged(predictorApi(), { tracker: { model_type: 'regression' } })).tracker).toEqual({ modelType: 'regression' });
  });

  test.each<[string, unknown, string[]]>([
    ['no model_type', { key: 'x' }, ['<props>: iris.tracker.model_type: required: one of classification, regression']],
    ['an unknown model_type', { model_type: 'ranking' }, ['<props>: iris.tracker.model_type: must be one of classification, regression, got "ranking"']],
  ])('GIVEN %s WHEN validated THEN %p', (_, tracker, expected) => {
    expect(predictorApiProblems({ tracker })).toEqual(expected);
  });
});
