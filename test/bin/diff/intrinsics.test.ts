import { canonicalKey, isIntrinsic, renderIntrinsic, substituteParameters } from '../../../bin/cli/diff/intrinsics';

const ASSET_HASH = '5cc3690b39c8756d3510ad04fc81821aef37e06178d59c8b05d97ac0b23f75fc';
const ASSET_SUB = `\${AWS::AccountId}.dkr.ecr.\${AWS::Region}.\${AWS::URLSuffix}/cdk-hnb659fds-container-assets-\${AWS::AccountId}-\${AWS::Region}:${ASSET_HASH}`;

describe('isIntrinsic', () => {
  test('GIVEN one Ref or Fn:: key THEN an intrinsic; other objects, arrays and scalars THEN not', () => {
    expect(isIntrinsic({ Ref: 'X' })).toBe(true);
    expect(isIntrinsic({ 'Fn::GetAtt': ['A', 'Arn'] })).toBe(true);
    expect(isIntrinsic({ Ref: 'X', other: 1 })).toBe(false);
    expect(isIntrinsic({ name: 'api' })).toBe(false);
    expect(isIntrinsic(['Ref'])).toBe(false);
    expect(isIntrinsic('Ref')).toBe(false);
  });
});

describe('renderIntrinsic', () => {
  test('GIVEN a CDK image asset URI (Fn::Sub) THEN <asset image> and the start of its hash', () => {
    expect(renderIntrinsic({ 'Fn::Sub': ASSET_SUB })).toBe('<asset image 5cc3690b39c8>');
  });

  test('GIVEN the same URI as an Fn::Join of Refs (older synthesizers) THEN the same', () => {
    const join = {
      'Fn::Join': ['', [{ Ref: 'AWS::AccountId' }, '.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, `/cdk-hnb659fds-container-assets-123-eu-west-1:${ASSET_HASH}`]],
    };
    expect(renderIntrinsic(join)).toBe('<asset image 5cc3690b39c8>');
  });

  test('GIVEN Ref, GetAtt, ImportValue, Sub with variables THEN ${...} forms that name the logical ids', () => {
    expect(renderIntrinsic({ Ref: 'ProxyRepo1234' })).toBe('${ProxyRepo1234}');
    expect(renderIntrinsic({ 'Fn::GetAtt': ['ProxyRepo1234', 'Arn'] })).toBe('${ProxyRepo1234.Arn}');
    expect(renderIntrinsic({ 'Fn::ImportValue': 'Cluster:ExportsOutputRef' })).toBe('${import Cluster:ExportsOutputRef}');
    expect(renderIntrinsic({ 'Fn::Sub': ['${Repo}:v1', { Repo: { 'Fn::GetAtt': ['Repo', 'RepositoryUri'] } }] })).toBe('${Repo.RepositoryUri}:v1');
  });

  test('GIVEN another function THEN its name and arguments', () => {
    expect(renderIntrinsic({ 'Fn::Select': [0, { 'Fn::GetAZs': '' }] })).toBe('${Fn::Select([0,{"Fn::GetAZs":""}])}');
  });
});

describe('substituteParameters', () => {
  test('GIVEN a Ref to a parameter the parent passes THEN the parent\'s value; other Refs stay', () => {
    const parameters = new Map<string, unknown>([['referencetoProxyImage', { 'Fn::Sub': ASSET_SUB }]]);
    const value = { 'Fn::Join': ['', ['image: ', { Ref: 'referencetoProxyImage' }, ' ', { Ref: 'AWS::Region' }]] };
    expect(substituteParameters(value, parameters)).toEqual({ 'Fn::Join': ['', ['image: ', { 'Fn::Sub': ASSET_SUB }, ' ', { Ref: 'AWS::Region' }]] });
  });

  test('GIVEN ${Parameter} in an Fn::Sub string and a plain string value THEN it is written in', () => {
    const parameters = new Map<string, unknown>([['Tag', 'v2'], ['Repo', { Ref: 'X' }]]);
    expect(substituteParameters({ 'Fn::Sub': '${Repo}:${Tag}' }, parameters)).toEqual({ 'Fn::Sub': '${Repo}:v2' });
  });
});

describe('canonicalKey', () => {
  test('GIVEN the same intrinsic with keys in another order THEN the same key', () => {
    expect(canonicalKey({ a: 1, b: { d: 2, c: 3 } })).toBe(canonicalKey({ b: { c: 3, d: 2 }, a: 1 }));
    expect(canonicalKey({ a: [1, 2] })).not.toBe(canonicalKey({ a: [2, 1] }));
  });
});
