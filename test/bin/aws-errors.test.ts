import { classifyAwsError, type AwsErrorKind } from '../../bin/cli/aws-errors';

/** An error as the AWS SDK throws them for a service's answer. */
const serviceError = (name: string, message = 'no', httpStatusCode = 400) => Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode } });

describe('classifyAwsError', () => {
  test.each<[string, number, AwsErrorKind]>([
    // expired session tokens: query protocol (CloudFormation, STS), JSON protocols (ECR, CloudWatch Logs)
    ['ExpiredToken', 400, 'expired-credentials'],
    ['ExpiredTokenException', 403, 'expired-credentials'],
    // an access key AWS does not know, a signature that does not match the secret key
    ['InvalidClientTokenId', 403, 'rejected-credentials'],
    ['UnrecognizedClientException', 400, 'rejected-credentials'],
    ['SignatureDoesNotMatch', 403, 'rejected-credentials'],
    ['InvalidSignatureException', 400, 'rejected-credentials'],
    // good credentials, a policy that does not allow the call
    ['AccessDenied', 403, 'access-denied'],
    ['AccessDeniedException', 400, 'access-denied'],
    ['SomeServiceForbidden', 403, 'access-denied'],
    // each service's own "not found"
    ['ResourceNotFoundException', 400, 'not-found'],
    ['ImageNotFoundException', 400, 'not-found'],
    ['RepositoryNotFoundException', 400, 'not-found'],
    ['ThrottlingException', 400, 'other'],
    ['InternalFailure', 500, 'other'],
  ])('%s (HTTP %d): %s', (name, status, kind) => {
    expect(classifyAwsError(serviceError(name, 'no', status))).toEqual({ kind, name, message: 'no' });
  });

  test('no credentials found is not credentials rejected: nothing was sent', () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(classifyAwsError(none).kind).toBe('no-credentials');
    expect(classifyAwsError(new Error('Could not load credentials from any providers')).kind).toBe('no-credentials');
  });

  test('the SDK\'s own failures, by message: an expired SSO session, no region, a region it cannot use', () => {
    expect(classifyAwsError(new Error('The SSO session token has expired; run aws sso login')).kind).toBe('expired-credentials');
    expect(classifyAwsError(new Error('Region is missing')).kind).toBe('no-region');
    expect(classifyAwsError(new Error('Region not accepted: region="us east 1" is not a valid hostname component.')).kind).toBe('invalid-region');
  });

  test('CloudFormation\'s missing stack (a ValidationError saying so) is not found; another ValidationError is not', () => {
    expect(classifyAwsError(serviceError('ValidationError', 'Stack with id Models does not exist')).kind).toBe('not-found');
    expect(classifyAwsError(serviceError('ValidationError', 'Template format error')).kind).toBe('other');
  });

  test('an error without a name: its code, else Error; a thrown string is its message', () => {
    expect(classifyAwsError({ Code: 'ExpiredToken', message: 'expired' })).toEqual({ kind: 'expired-credentials', name: 'ExpiredToken', message: 'expired' });
    expect(classifyAwsError('boom')).toEqual({ kind: 'other', name: 'Error', message: 'boom' });
  });
});
