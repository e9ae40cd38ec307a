import { realtimeApiSpec } from '../../../lib/config/definition';
import { iamPolicyArnProblem, modelS3Locations, parseS3Uri } from '../../../lib/config/iam';
import { containerApi, merged, predictorApi, problemsOf, realtimeSpecOf } from './config-fixtures';

const RULE =
  'must be an IAM managed policy ARN: arn:aws:iam::aws:policy/NAME (AWS managed) or arn:aws:iam::ACCOUNT:policy/[PATH/]NAME ' +
  '(ACCOUNT: 12 digits; partition aws, aws-cn, aws-us-gov...)';

describe('iam_policy_arns', () => {
  test('GIVEN none WHEN read THEN no policy (the spec has no field)', () => {
    expect(realtimeSpecOf(containerApi()).iamPolicyArns).toBeUndefined();
    expect(realtimeSpecOf(predictorApi()).iamPolicyArns).toBeUndefined();
  });

  test('GIVEN policy ARNs on both forms WHEN read THEN kept in order', () => {
    const arns = ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', 'arn:aws:iam::123456789012:policy/models/read-models'];
    expect(realtimeSpecOf(merged(containerApi(), { iam_policy_arns: arns })).iamPolicyArns).toEqual(arns);
    expect(realtimeSpecOf(merged(predictorApi(), { iam_policy_arns: arns })).iamPolicyArns).toEqual(arns);
  });

  test('GIVEN the camelCase definition WHEN converted THEN the same spec', () => {
    const spec = realtimeApiSpec({
      name: 'echo',
      pod: { containers: [{ name: 'api', image: 'a:1' }] },
      iamPolicyArns: ['arn:aws-us-gov:iam::aws:policy/AmazonS3ReadOnlyAccess'],
    });
    expect(spec.iamPolicyArns).toEqual(['arn:aws-us-gov:iam::aws:policy/AmazonS3ReadOnlyAccess']);
  });

  test('GIVEN bad ARNs in a file WHEN validated THEN each at its line and column, with the value and what is allowed', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - {name: api, image: a:1}
  iam_policy_arns:
    - AmazonS3ReadOnlyAccess
    - arn:aws:iam::123456789012:role/model-reader
    - arn:aws:iam:us-east-1:123456789012:policy/x
    - arn:aws:iam::1234:policy/x
    - arn:aws-xx:iam::aws:policy/x
    - 42
    - arn:aws:iam::aws:policy/ReadOnlyAccess
    - arn:aws:iam::aws:policy/ReadOnlyAccess
`;
    expect(problemsOf(yaml)).toEqual([
      `cortex.yaml:7:7: iris.iam_policy_arns[0]: ${RULE}, got "AmazonS3ReadOnlyAccess"; a policy's name alone is written as its ARN, e.g. arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess`,
      `cortex.yaml:8:7: iris.iam_policy_arns[1]: ${RULE}, got "arn:aws:iam::123456789012:role/model-reader"; that is a role: name the policies to attach to the API's own role`,
      `cortex.yaml:9:7: iris.iam_policy_arns[2]: ${RULE}, got "arn:aws:iam:us-east-1:123456789012:policy/x"; IAM ARNs have no region (arn:aws:iam::...)`,
      `cortex.yaml:10:7: iris.iam_policy_arns[3]: ${RULE}, got "arn:aws:iam::1234:policy/x"; the account "1234" must be aws or 12 digits`,
      `cortex.yaml:11:7: iris.iam_policy_arns[4]: ${RULE}, got "arn:aws-xx:iam::aws:policy/x"; the partition "aws-xx" is not one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc`,
      'cortex.yaml:12:7: iris.iam_policy_arns[5]: must be a string, got 42 (quote it: "42")',
      'cortex.yaml:14:7: iris.iam_policy_arns[7]: duplicate policy "arn:aws:iam::aws:policy/ReadOnlyAccess" (also iam_policy_arns[6]); name each policy once',
    ]);
  });

  test('GIVEN not a list, or more than 20 WHEN validated THEN said so', () => {
    const base = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - {name: api, image: a:1}
`;
    expect(problemsOf(`${base}  iam_policy_arns: arn:aws:iam::aws:policy/ReadOnlyAccess\n`)).toEqual([
      'cortex.yaml:6:20: iris.iam_policy_arns: must be a list, got "arn:aws:iam::aws:policy/ReadOnlyAccess"',
    ]);
    const many = Array.from({ length: 21 }, (_, i) => `arn:aws:iam::123456789012:policy/p${i}`);
    expect(problemsOf(`${base}  iam_policy_arns: [${many.join(', ')}]\n`)).toEqual([
      'cortex.yaml:6:20: iris.iam_policy_arns: must list at most 20 policies (IAM attaches no more to a role), got 21',
    ]);
  });

  test('GIVEN iam_policy_arns on a TrafficSplitter or a kind: api WHEN validated THEN refused with the reason', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - {name: api, image: a:1}
- name: split
  kind: TrafficSplitter
  apis: [{name: iris, weight: 100}]
  iam_policy_arns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:9:3: split.iam_policy_arns: unknown field "iam_policy_arns"; iam_policy_arns belongs to the RealtimeAPIs a TrafficSplitter routes to: a splitter has no pods, each API\'s pods have their own role',
    ]);
    const legacy = `- kind: api
  name: old
  predictor: {path: predictor.py}
  iam_policy_arns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
`;
    expect(problemsOf(legacy)).toEqual([
      "cortex.yaml:4:3: old.iam_policy_arns: unknown field \"iam_policy_arns\"; iam_policy_arns came after kind: api; write the API as kind RealtimeAPI to name policies (its model's s3:// location is readable without them)",
    ]);
  });

  test('iamPolicyArnProblem: undefined for every partition and path; a message otherwise', () => {
    for (const arn of [
      'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      'arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM',
      'arn:aws-cn:iam::123456789012:policy/a/b/c+=,.@_-',
      'arn:aws-us-gov:iam::123456789012:policy/x',
    ]) {
      expect(iamPolicyArnProblem(arn)).toBeUndefined();
    }
    expect(iamPolicyArnProblem('arn:aws:iam::aws:policy/')).toMatch(/^must be an IAM managed policy ARN/);
    expect(iamPolicyArnProblem(undefined)).toMatch(/got nothing$/);
  });
});

describe('the S3 locations of an API\'s models', () => {
  test('parseS3Uri: the bucket and the prefix without its trailing slash', () => {
    expect(parseS3Uri('s3://b/models/resnet/')).toEqual({ bucket: 'b', prefix: 'models/resnet' });
    expect(parseS3Uri('s3://b/iris.onnx')).toEqual({ bucket: 'b', prefix: 'iris.onnx' });
    expect(parseS3Uri('s3://b')).toEqual({ bucket: 'b', prefix: '' });
    expect(parseS3Uri('s3://b/')).toEqual({ bucket: 'b', prefix: '' });
    expect(parseS3Uri('models/local')).toBeUndefined();
  });

  test('GIVEN models.path, paths and dir WHEN listed THEN the s3:// ones, each once, nested ones inside the outer one', () => {
    const spec = (models: Record<string, unknown>) =>
      realtimeSpecOf(merged(predictorApi(), { predictor: { type: 'python', multi_model_reloading: models } }));
    expect(modelS3Locations(spec({ path: 's3://b/one/' }))).toEqual([{ bucket: 'b', prefix: 'one' }]);
    expect(modelS3Locations(spec({ dir: 'models' }))).toEqual([]);
    expect(
      modelS3Locations(
        spec({
          paths: [
            { name: 'a', path: 's3://b/m/a' },
            { name: 'all', path: 's3://b/m' },
            { name: 'ab', path: 's3://b/m-ab' },
            { name: 'c', path: 's3://c/x' },
            { name: 'again', path: 's3://c/x/' },
            { name: 'local', path: 'models/l' },
          ],
        }),
      ),
    ).toEqual([
      { bucket: 'b', prefix: 'm' },
      { bucket: 'b', prefix: 'm-ab' },
      { bucket: 'c', prefix: 'x' },
    ]);
    expect(modelS3Locations(realtimeSpecOf(containerApi()))).toEqual([]);
  });
});
