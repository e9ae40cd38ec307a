import { failed, networkFailure, resolved, unavailable } from '../../../bin/cli/pin/resolution';

describe('networkFailure', () => {
  test('GIVEN fetch\'s error wrapping a refused connection THEN its code, found through the cause', () => {
    const error = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(networkFailure(error)).toBe('ECONNREFUSED');
  });

  test('GIVEN a timeout (AbortSignal.timeout) or an abort THEN TimeoutError', () => {
    expect(networkFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('TimeoutError');
    expect(networkFailure(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe('TimeoutError');
  });

  test('GIVEN an AWS SDK DNS failure THEN its code', () => {
    expect(networkFailure(Object.assign(new Error('getaddrinfo ENOTFOUND api.ecr.us-east-1.amazonaws.com'), { code: 'ENOTFOUND' }))).toBe('ENOTFOUND');
  });

  test('GIVEN any other error, or not an error THEN undefined', () => {
    expect(networkFailure(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))).toBeUndefined();
    expect(networkFailure(new TypeError('fetch failed', { cause: new Error('invalid header') }))).toBeUndefined();
    expect(networkFailure('ECONNREFUSED')).toBeUndefined();
    expect(networkFailure(undefined)).toBeUndefined();
  });
});

describe('resolved, unavailable, failed', () => {
  test('THEN the three outcomes, told apart by status', () => {
    expect(resolved('sha256:x')).toEqual({ status: 'resolved', digest: 'sha256:x' });
    expect(unavailable('down')).toEqual({ status: 'unavailable', reason: 'down' });
    expect(failed('gone')).toEqual({ status: 'failed', reason: 'gone' });
  });
});
