import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { ENABLE_NETWORK_POLICY, MINIMUM_VPC_CNI_VERSION, VpcCni, vpcCniConfiguration } from '../../../lib/platform/vpc-cni';
import { EKS_ADDONS } from '../../../lib/platform/versions';
import { importedCluster, newCluster, newStack, resources } from './fixtures';

describe('VpcCni', () => {
  test('GIVEN an eks.Cluster WHEN installed THEN the vpc-cni add-on with enableNetworkPolicy "true", taking over aws-node, kept on delete', () => {
    // GIVEN
    const stack = newStack();
    const cluster = newCluster(stack);
    // WHEN
    new VpcCni(stack, 'VpcCni', { cluster });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EKS::Addon', {
      AddonName: 'vpc-cni',
      ConfigurationValues: JSON.stringify({ enableNetworkPolicy: 'true' }),
      ResolveConflicts: 'OVERWRITE',
      PreserveOnDelete: true,
    });
    const [addon] = resources(template, 'AWS::EKS::Addon', (p) => p.AddonName === 'vpc-cni');
    expect(addon.properties.AddonVersion).toBeUndefined();
  });

  test('GIVEN an imported cluster, a version and values of its own WHEN installed THEN they are kept beside enableNetworkPolicy', () => {
    const stack = newStack();
    new VpcCni(stack, 'VpcCni', {
      cluster: importedCluster(stack),
      addonVersion: 'v1.20.4-eksbuild.2',
      configurationValues: { env: { ENABLE_PREFIX_DELEGATION: 'true' } },
    });
    const [addon] = resources(Template.fromStack(stack), 'AWS::EKS::Addon');
    expect(addon.properties).toMatchObject({ AddonName: EKS_ADDONS.vpcCni, ClusterName: 'models', AddonVersion: 'v1.20.4-eksbuild.2' });
    expect(JSON.parse(addon.properties.ConfigurationValues)).toEqual({
      env: { ENABLE_PREFIX_DELEGATION: 'true' },
      enableNetworkPolicy: 'true',
    });
  });

  test.each([
    ['1.20.0', /vpcCni\.addonVersion \("1\.20\.0"\) must be an EKS add-on version such as "v4\.1\.0-eksbuild\.1"/],
    ['v1.13.4-eksbuild.1', /vpcCni\.addonVersion \("v1\.13\.4-eksbuild\.1"\) must be 1\.14\.0 or newer: the network policy agent/],
  ])('GIVEN addonVersion %s THEN refused', (addonVersion, message) => {
    const stack = newStack();
    expect(() => new VpcCni(stack, 'VpcCni', { cluster: importedCluster(stack), addonVersion })).toThrow(message);
  });

  test('GIVEN the oldest version with the network policy agent THEN accepted', () => {
    const stack = newStack();
    expect(() => new VpcCni(stack, 'VpcCni', { cluster: importedCluster(stack), addonVersion: `v${MINIMUM_VPC_CNI_VERSION}-eksbuild.1` })).not.toThrow();
  });
});

describe('vpcCniConfiguration', () => {
  test('GIVEN nothing THEN enforcement on', () => {
    expect(vpcCniConfiguration()).toEqual({ [ENABLE_NETWORK_POLICY]: 'true' });
  });

  test('GIVEN enableNetworkPolicy "true" THEN the same', () => {
    expect(vpcCniConfiguration({ enableNetworkPolicy: 'true' })).toEqual({ enableNetworkPolicy: 'true' });
  });

  test.each([['false'], [true], [false]])('GIVEN enableNetworkPolicy %p THEN refused, saying how to leave the CNI alone', (value) => {
    expect(() => vpcCniConfiguration({ enableNetworkPolicy: value })).toThrow(
      /vpcCni\.configurationValues\.enableNetworkPolicy \(.*\) must be "true" or left out: .*set vpcCni: false/,
    );
  });
});

describe('docs/platform.md', () => {
  const doc = fs.readFileSync(path.join(__dirname, '../../../docs/platform.md'), 'utf8');

  test('THEN the add-on, its configuration, its minimum version and the way out are documented', () => {
    expect(doc).toContain(`| \`vpcCni\` | pod networking, NetworkPolicies enforced | EKS add-on \`${EKS_ADDONS.vpcCni}\`, \`${ENABLE_NETWORK_POLICY}: "true"\``);
    expect(doc).toContain(`configurationValues: {"${ENABLE_NETWORK_POLICY}": "true"}`);
    expect(doc).toContain(`VPC CNI ${MINIMUM_VPC_CNI_VERSION.split('.').slice(0, 2).join('.')} or newer`);
    expect(doc).toContain('`vpcCni: false` leaves the CNI as it is');
  });
});
