import { parseManifestJson, textParts, TokenString } from '../../../bin/cli/diff/token-string';

const IMAGE = { 'Fn::GetAtt': ['ProxyRepo', 'RepositoryUri'] };

describe('textParts', () => {
  test('GIVEN nested Fn::Joins THEN flat parts, delimiters kept, adjacent strings merged', () => {
    const value = { 'Fn::Join': ['', ['a', { 'Fn::Join': ['-', ['b', { Ref: 'X' }]] }, 'c']] };
    expect(textParts(value)).toEqual(['ab-', { Ref: 'X' }, 'c']);
  });

  test('GIVEN a string or a lone intrinsic THEN one part', () => {
    expect(textParts('[]')).toEqual(['[]']);
    expect(textParts({ Ref: 'X' })).toEqual([{ Ref: 'X' }]);
  });
});

describe('parseManifestJson', () => {
  test('GIVEN JSON text THEN the objects', () => {
    expect(parseManifestJson('[{"kind":"Service","metadata":{"name":"a"}}]')).toEqual([{ kind: 'Service', metadata: { name: 'a' } }]);
  });

  test('GIVEN an intrinsic inside a JSON string THEN that string is a TokenString with the literal parts around it', () => {
    const [object] = parseManifestJson({ 'Fn::Join': ['', ['[{"image":"', IMAGE, ':v1","name":"api \\"x\\""}]']] }) as Array<Record<string, unknown>>;
    expect(object.name).toBe('api "x"');
    expect(object.image).toBeInstanceOf(TokenString);
    const image = object.image as TokenString;
    expect(image.parts).toEqual([IMAGE, ':v1']);
    expect(image.text).toBe('${ProxyRepo.RepositoryUri}:v1');
  });

  test('GIVEN an intrinsic outside any JSON string (a number known at deploy time) THEN a TokenString value', () => {
    const [object] = parseManifestJson({ 'Fn::Join': ['', ['[{"replicas":', { Ref: 'Replicas' }, '}]']] }) as Array<Record<string, unknown>>;
    expect((object.replicas as TokenString).text).toBe('${Replicas}');
  });

  test('GIVEN the same intrinsic twice, keys in another order THEN the same key; another intrinsic THEN another key', () => {
    const a = new TokenString([{ 'Fn::Sub': 'x', z: 1 } as never, ':v1']);
    const b = new TokenString([{ z: 1, 'Fn::Sub': 'x' } as never, ':v1']);
    expect(a.key).toBe(b.key);
    expect(new TokenString([IMAGE, ':v2']).key).not.toBe(new TokenString([IMAGE, ':v1']).key);
  });

  test('GIVEN text that is not JSON THEN it throws', () => {
    expect(() => parseManifestJson('[{')).toThrow(/JSON/);
  });
});
