import { parseProperties } from '../../../lambda/rollout-gate/properties';
import { gateProperties } from './kube-objects';

describe('parseProperties', () => {
  test('reads the properties as CloudFormation hands them over (scalars as strings)', () => {
    expect(parseProperties(gateProperties({ DeployTimeInputs: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/proxy:abc'] }))).toEqual({
      apiName: 'iris',
      namespace: 'cortex',
      deployment: 'iris',
      specHash: '4228a5cc03be191d',
      timeoutSeconds: 600,
      deployTimeInputs: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/proxy:abc'],
    });
  });

  test('throws naming the property, its value and what is allowed', () => {
    expect(() => parseProperties(gateProperties({ Namespace: '' }))).toThrow('rollout gate: property Namespace ("") must be a non-empty string');
    expect(() => parseProperties(gateProperties({ TimeoutSeconds: '0' }))).toThrow('property TimeoutSeconds ("0") must be a positive whole number of seconds');
    expect(() => parseProperties(undefined)).toThrow(/property ApiName \(undefined\)/);
  });
});
