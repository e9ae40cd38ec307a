import * as fs from 'node:fs';
import * as path from 'node:path';
import * as config from '../../../lib/config';

describe('lib/config', () => {
  test('GIVEN the package entry WHEN imported THEN the public API is there', () => {
    for (const name of ['parseConfig', 'validateConfig', 'loadConfigFile', 'configFromObject', 'validateConfigObject', 'parseDuration', 'parseQuantity', 'suggest', 'formatProblem', 'ConfigError', 'CortexValidationError']) {
      expect(typeof (config as Record<string, unknown>)[name]).toBe('function');
    }
    expect(config.POD_DEFAULTS.port).toBe(8080);
  });

  test('GIVEN the sources WHEN their imports are read THEN none is cdk8s or aws-cdk-lib', () => {
    const dir = path.join(__dirname, '../../../lib/config');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const imports = [...fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      const external = imports.filter((i) => !i.startsWith('.'));
      expect({ file, external: external.filter((i) => !['yaml', 'node:fs'].includes(i)) }).toEqual({ file, external: [] });
    }
  });
});
