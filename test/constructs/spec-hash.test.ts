import { SPEC_HASH_LENGTH, canonicalJson, specHash } from '../../constructs/spec-hash';

describe('spec hash', () => {
  test('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });

  test('GIVEN the same template with keys in another order THEN the same hash', () => {
    expect(specHash({ template: { a: 1, b: { c: 2, d: 3 } } })).toBe(specHash({ template: { b: { d: 3, c: 2 }, a: 1 } }));
  });

  test('GIVEN a different template or ConfigMap content THEN a different hash', () => {
    const base = specHash({ template: { image: 'a:1' }, configMaps: { cm: { k: 'v' } } });
    expect(specHash({ template: { image: 'a:2' }, configMaps: { cm: { k: 'v' } } })).not.toBe(base);
    expect(specHash({ template: { image: 'a:1' }, configMaps: { cm: { k: 'w' } } })).not.toBe(base);
  });

  test('the hash is hex of the documented length', () => {
    expect(specHash({ template: {} })).toMatch(new RegExp(`^[0-9a-f]{${SPEC_HASH_LENGTH}}$`));
  });

  test('GIVEN unresolved CDK tokens numbered differently THEN the same hash (token numbers depend on the whole app)', () => {
    expect(specHash({ template: { image: '${Token[TOKEN.12]}' } })).toBe(specHash({ template: { image: '${Token[TOKEN.987]}' } }));
    expect(specHash({ template: { image: '${Token[TOKEN.12]}' } })).not.toBe(specHash({ template: { image: 'x:1' } }));
  });
});
