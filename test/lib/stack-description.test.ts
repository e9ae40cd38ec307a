import * as path from 'node:path';
import { describeFiles, displayPath, fitsStackDescription, truncateDescription } from '../../lib/stack-description';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('displayPath', () => {
  test('GIVEN a file inside the working directory THEN relative, with forward slashes', () => {
    expect(displayPath('/home/me/app/examples/iris/cortex.yaml', '/home/me/app')).toBe('examples/iris/cortex.yaml');
  });

  test('GIVEN a file outside it THEN as given', () => {
    expect(displayPath('/srv/configs/cortex.yaml', '/home/me/app')).toBe('/srv/configs/cortex.yaml');
  });

  test('GIVEN a relative path THEN unchanged', () => {
    expect(displayPath(path.join('examples', 'iris', 'cortex.yaml'), '/anywhere')).toBe('examples/iris/cortex.yaml');
  });
});

describe('describeFiles', () => {
  test('GIVEN files that fit THEN each once, in order, between the two texts', () => {
    const text = describeFiles('APIs of ', ['/p/a.yaml', '/p/b.yaml', '/p/a.yaml'], ', stack 1 of 2', '/p');
    expect(text).toBe('APIs of a.yaml, b.yaml, stack 1 of 2');
  });

  test('GIVEN the same files from two checkout directories THEN the same description (no spurious diff)', () => {
    const files = (root: string) => ['examples/iris/cortex.yaml', 'examples/batching/cortex.yaml'].map((f) => path.join(root, f));
    const short = describeFiles('of ', files('/work/main'), '', '/work/main');
    const long = describeFiles('of ', files('/check/a/much/longer/checkout/main'), '', '/check/a/much/longer/checkout/main');
    expect(long).toBe(short);
  });

  test('GIVEN 40 long paths outside the working directory THEN within the limits, the rest counted', () => {
    const files = Array.from({ length: 40 }, (_, i) => `/check/${'deep/'.repeat(12)}project-${i}/cortex.yaml`);
    const text = describeFiles('cortex-cdk: RealtimeAPIs of ', files, ', stack 15 of 64 (by name hash)', '/elsewhere');
    expect(fitsStackDescription(text)).toBe(true);
    expect(text).toMatch(/^cortex-cdk: RealtimeAPIs of \/check\/.*project-0\/cortex\.yaml, .* and \d+ more files, stack 15 of 64 \(by name hash\)$/);
    const listed = (text.match(/cortex\.yaml/g) ?? []).length;
    const more = Number(/and (\d+) more files/.exec(text)![1]);
    expect(listed + more).toBe(40);
  });

  test('GIVEN one path longer than the limit THEN the count of files instead', () => {
    const text = describeFiles('APIs of ', [`/${'x'.repeat(2000)}.yaml`], ', stack 1 of 1', '/');
    expect(text).toBe('APIs of 1 file, stack 1 of 1');
  });
});

describe('fitsStackDescription: CloudFormation\'s 1,024 bytes and aws-cdk-lib\'s 512 characters', () => {
  test.each([
    ['512 ASCII characters', 'a'.repeat(512), true],
    ['513 ASCII characters', 'a'.repeat(513), false],
    ['341 three-byte characters (1,023 bytes)', '€'.repeat(341), true],
    ['342 three-byte characters (1,026 bytes)', '€'.repeat(342), false],
  ])('%s', (_, text, fits) => {
    expect(fitsStackDescription(text)).toBe(fits);
  });
});

describe('truncateDescription', () => {
  test('GIVEN multi-byte characters THEN never cut mid-character, the ellipsis within the limit', () => {
    const text = truncateDescription('€'.repeat(600));
    expect(bytes(text)).toBeLessThanOrEqual(1024);
    expect(text.endsWith('…')).toBe(true);
    expect(text.slice(0, -1)).toBe('€'.repeat(text.length - 1));
  });

  test('GIVEN short text THEN unchanged', () => {
    expect(truncateDescription('short')).toBe('short');
  });
});
