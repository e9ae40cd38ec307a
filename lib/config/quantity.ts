/**
 * Kubernetes resource quantities (`200m`, `0.5`, `2G`, `512Mi`, `2.5Gi`, `1e3`), parsed to a number
 * in base units (cores for CPU, bytes for memory) so that limits and cross-field rules can compare them.
 * The spec keeps the quantity string itself; these numbers are for comparisons only.
 */

// <signedNumber><suffix>, where suffix is a binary SI suffix, a decimal SI suffix, or an exponent.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

const DECIMAL_EXPONENT: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const BINARY_POWER: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/**
 * The value of a quantity in base units, or `undefined` when `quantity` is not one.
 * Numbers (what YAML gives for `cpu: 1` or `cpu: 0.2`) are read through their string form.
 */
export function parseQuantity(quantity: string | number): number | undefined {
  const text = quantityString(quantity);
  if (text === undefined) return undefined;
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, number, suffix = ''] = match;
  if (suffix in BINARY_POWER) return Number(number) * 1024 ** BINARY_POWER[suffix];
  const exponent = suffix === '' ? 0 : suffix in DECIMAL_EXPONENT ? DECIMAL_EXPONENT[suffix] : Number(suffix.slice(1));
  // Through a decimal string, so that "20m" and "0.02" give the very same double.
  const value = Number(`${number}e${exponent}`);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The Kubernetes quantity string for a YAML value: strings as written (trimmed), numbers in their
 * shortest decimal form (`1` → "1", `0.2` → "0.2"); `undefined` for anything else.
 */
export function quantityString(quantity: string | number): string | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? String(quantity) : undefined;
  if (typeof quantity === 'string') return quantity.trim();
  return undefined;
}
