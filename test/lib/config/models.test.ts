import { merged, predictorApi, predictorApiProblems, realtimeSpecOf } from './config-fixtures';

const tensorflow = (models: unknown) => ({ predictor: { type: 'tensorflow', models } });
const python = (reloading: unknown) => ({ predictor: { multi_model_reloading: reloading } });
const M = '<props>: iris.predictor.models';

describe('models', () => {
  test('GIVEN a single path with a signature key WHEN read THEN both are kept', () => {
    const spec = realtimeSpecOf(merged(predictorApi(), tensorflow({ path: 's3://bucket/yamnet/', signature_key: 'serving_default' })));
    expect(spec.predictor?.models).toEqual({ path: 's3://bucket/yamnet/', signatureKey: 'serving_default' });
  });

  test('GIVEN named paths and cache sizes WHEN read THEN they are kept in order', () => {
    const models = {
      paths: [
        { name: 'inception', path: 's3://bucket/inception/' },
        { name: 'iris', path: 's3://bucket/iris/', signature_key: 'predict' },
      ],
      cache_size: 1,
      disk_cache_size: 2,
    };
    expect(realtimeSpecOf(merged(predictorApi(), tensorflow(models))).predictor?.models).toEqual({
      paths: [
        { name: 'inception', path: 's3://bucket/inception/' },
        { name: 'iris', path: 's3://bucket/iris/', signatureKey: 'predict' },
      ],
      cacheSize: 1,
      diskCacheSize: 2,
    });
  });

  test('GIVEN a python predictor with multi_model_reloading dir WHEN read THEN it becomes the models', () => {
    const reloading = { dir: 's3://models.huggingface.co/bert/Helsinki-NLP/', cache_size: 5, disk_cache_size: 250 };
    expect(realtimeSpecOf(merged(predictorApi(), python(reloading))).predictor?.models).toEqual({
      dir: 's3://models.huggingface.co/bert/Helsinki-NLP/',
      cacheSize: 5,
      diskCacheSize: 250,
    });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['none of path, paths, dir', tensorflow({ cache_size: 1 }), [`${M}: must have exactly one of path, paths or dir, got none`]],
    ['path and dir', tensorflow({ path: 'a', dir: 'b' }), [`${M}: must have exactly one of path, paths or dir, got path and dir`]],
    ['cache sizes of 1', tensorflow({ dir: 's3://m/', cache_size: 1, disk_cache_size: 1 }), []],
    ['a cache_size of 0', tensorflow({ dir: 's3://m/', cache_size: 0 }), [`${M}.cache_size: must be an integer >= 1, got 0`]],
    ['a disk_cache_size of 0', tensorflow({ dir: 's3://m/', disk_cache_size: 0 }), [`${M}.disk_cache_size: must be an integer >= 1, got 0`]],
    ['cache_size above disk_cache_size', tensorflow({ dir: 's3://m/', cache_size: 3, disk_cache_size: 2 }), [`${M}.cache_size: must be <= disk_cache_size (2), got 3`]],
    [
      'cache sizes with a single path',
      tensorflow({ path: 's3://m/', cache_size: 1, disk_cache_size: 1 }),
      [
        `${M}.cache_size: cache_size goes with paths or dir only, not with path (a single model is always loaded)`,
        `${M}.disk_cache_size: disk_cache_size goes with paths or dir only, not with path (a single model is always loaded)`,
      ],
    ],
    ['an empty paths list', tensorflow({ paths: [] }), [`${M}.paths: must list at least one model`]],
    [
      'two models with one name',
      tensorflow({ paths: [{ name: 'a', path: 'x' }, { name: 'a', path: 'y' }] }),
      [`${M}.paths[1].name: duplicate model name "a" (also paths[0]); model names must be unique`],
    ],
    ['a model without a path', tensorflow({ paths: [{ name: 'a' }] }), [`${M}.paths[0].path: required`]],
    [
      'a signature key on onnx',
      { predictor: { type: 'onnx', models: { path: 'x', signature_key: 'k' } } },
      [`${M}.signature_key: applies to type tensorflow only, not onnx`],
    ],
    [
      'a signature key in python multi_model_reloading',
      python({ paths: [{ name: 'a', path: 'x', signature_key: 'k' }] }),
      ['<props>: iris.predictor.multi_model_reloading.paths[0].signature_key: applies to type tensorflow only, not python'],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
    expect(predictorApiProblems(overrides)).toEqual(expected);
  });
});
