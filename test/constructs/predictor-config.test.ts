import {
  PREDICTOR_CONFIG_KEY,
  isPredictorForm,
  predictorConfigMapData,
  predictorConfigMapName,
  predictorSettings,
} from '../../constructs/predictor-config';
import { predictorApi, realtimeApi } from './fixtures';

function settingsOf(api: ReturnType<typeof predictorApi>): Record<string, unknown> {
  if (!isPredictorForm(api)) throw new Error('not predictor form');
  return predictorSettings(api);
}

describe('predictor config', () => {
  test('GIVEN a full predictor THEN every setting in snake_case, absent ones null', () => {
    const api = predictorApi(
      {
        type: 'onnx',
        path: 'src/predictor.py',
        config: { threshold: 0.5 },
        models: { dir: 's3://models/', cacheSize: 3, diskCacheSize: 10 },
        serverSideBatching: { maxBatchSize: 16, batchIntervalSeconds: 0.25 },
        processesPerReplica: 2,
        threadsPerProcess: 8,
        logLevel: 'debug',
        pythonPath: 'src',
      },
      {
        name: 'onnx-api',
        pod: { port: 8080 },
        compute: { cpu: '2', inf: 1 },
        tracker: { key: 'label', modelType: 'classification' },
      },
    );
    expect(settingsOf(api)).toEqual({
      version: 1,
      api_name: 'onnx-api',
      port: 8080,
      type: 'onnx',
      path: 'src/predictor.py',
      config: { threshold: 0.5 },
      models: { path: null, paths: null, dir: 's3://models/', cache_size: 3, disk_cache_size: 10, signature_key: null },
      server_side_batching: { max_batch_size: 16, batch_interval_seconds: 0.25 },
      processes_per_replica: 2,
      threads_per_process: 8,
      log_level: 'debug',
      python_path: 'src',
      signature_key: null,
      dependencies: { pip: 'requirements.txt', conda: 'conda-packages.txt', shell: 'dependencies.sh' },
      tracker: { key: 'label', model_type: 'classification' },
      compute: { cpu: '2', mem: null, gpu: 0, inf: 1 },
    });
  });

  test('GIVEN allow_debug true THEN the settings allow ?debug=true; false or absent THEN no key (the runtime\'s default is off)', () => {
    expect(settingsOf(predictorApi({ allowDebug: true }))).toMatchObject({ allow_debug: true });
    expect(settingsOf(predictorApi({ allowDebug: false }))).not.toHaveProperty('allow_debug');
    expect(settingsOf(predictorApi())).not.toHaveProperty('allow_debug');
  });

  test('GIVEN no models, batching or tracker THEN they are null', () => {
    expect(settingsOf(predictorApi())).toMatchObject({ models: null, server_side_batching: null, tracker: null });
  });

  test('GIVEN named model paths THEN each with its signature key', () => {
    const api = predictorApi({ models: { paths: [{ name: 'a', path: 's3://a' }, { name: 'b', path: 's3://b', signatureKey: 'sk' }] } });
    expect((settingsOf(api).models as { paths: unknown }).paths).toEqual([
      { name: 'a', path: 's3://a', signature_key: null },
      { name: 'b', path: 's3://b', signature_key: 'sk' },
    ]);
  });

  test('the ConfigMap data is canonical JSON under predictor.json: config key order does not matter', () => {
    const a = predictorApi({ config: { x: 1, y: 2 } });
    const b = predictorApi({ config: { y: 2, x: 1 } });
    if (!isPredictorForm(a) || !isPredictorForm(b)) throw new Error('not predictor form');
    expect(predictorConfigMapData(a)).toEqual(predictorConfigMapData(b));
    expect(JSON.parse(predictorConfigMapData(a)[PREDICTOR_CONFIG_KEY]).config).toEqual({ x: 1, y: 2 });
  });

  test('GIVEN a function-style predictor (kind: api) THEN style and metadata are added; a model alone has a null path', () => {
    const api = predictorApi({ type: 'onnx', style: 'function', path: undefined, metadata: { labels: ['a', 'b'] }, models: { path: 's3://b/m.onnx' } });
    expect(settingsOf(api)).toMatchObject({
      type: 'onnx',
      style: 'function',
      path: null,
      metadata: { labels: ['a', 'b'] },
      models: { path: 's3://b/m.onnx' },
    });
    expect(settingsOf(predictorApi({ style: 'function' }))).toMatchObject({ style: 'function', metadata: {} });
  });

  test('GIVEN a class-style predictor THEN neither style nor metadata appears (its settings, and spec hash, are unchanged)', () => {
    expect(Object.keys(settingsOf(predictorApi()))).not.toEqual(expect.arrayContaining(['style']));
    expect(settingsOf(predictorApi())).not.toHaveProperty('metadata');
  });

  test('names and form', () => {
    expect(predictorConfigMapName('iris')).toBe('iris-predictor');
    expect(isPredictorForm(realtimeApi())).toBe(false);
    expect(isPredictorForm(predictorApi())).toBe(true);
  });
});
