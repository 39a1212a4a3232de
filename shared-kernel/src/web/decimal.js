// Exact decimals, for what a page works out itself: the bettor app's
// slip before the API decides (the accumulator's coefficient, the exact
// product of its legs', and the potential payout, rounded half-up to the
// cent as the API rounds), and the back office's share of its maximum an
// event's liability takes. Money is never a float: every value is a
// BigInt of units at a scale ("1.85" is 185n at scale 2), or of cents.
// The API stays the judge of what a bet pays; this only shows it
// beforehand.

/** What a stake or an amount may look like before it is sent: digits,
 * at most two decimals (the API refuses anything else, and says why). */
const PLAIN = /^(\d+)(?:\.(\d{1,2}))?$/;
const COEFFICIENT = /^(\d+)\.(\d+)$/;
/** An amount as the API writes money, of either sign. */
const MONEY = /^(-?)(\d+(?:\.\d{1,2})?)$/;

/**
 * `text` as `{units, scale}`, or null when it is not a plain decimal.
 * @param {string} text
 */
export function parseDecimal(text) {
  const match = PLAIN.exec(text.trim()) || COEFFICIENT.exec(text.trim());
  if (!match) return null;
  const fraction = match[2] || '';
  return { units: BigInt(match[1] + fraction), scale: fraction.length };
}

/** Whether `text` is an amount the API may take: digits, at most two
 * decimals, more than zero. */
export function isAmount(text) {
  const value = PLAIN.test(text.trim()) ? parseDecimal(text) : null;
  return value !== null && value.units > 0n;
}

/** The exact product of decimals (each `{units, scale}`). */
export function product(values) {
  return values.reduce((all, value) => ({ units: all.units * value.units, scale: all.scale + value.scale }), {
    units: 1n,
    scale: 0,
  });
}

/** `value` as text with at least `minScale` decimals and no trailing zero
 * beyond them ("3.8850" is "3.885"; "2.1000" is "2.10"). */
export function formatDecimal(value, minScale = 2) {
  let { units, scale } = value;
  while (scale > minScale && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  while (scale < minScale) {
    units *= 10n;
    scale += 1;
  }
  const digits = units.toString().padStart(scale + 1, '0');
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** `value` rounded half-up to two decimals (it is never negative here). */
export function toCents(value) {
  if (value.scale <= 2) return { units: value.units * 10n ** BigInt(2 - value.scale), scale: 2 };
  const divisor = 10n ** BigInt(value.scale - 2);
  const whole = value.units / divisor;
  const rest = value.units % divisor;
  return { units: rest * 2n >= divisor ? whole + 1n : whole, scale: 2 };
}

/** What a stake pays at these coefficients if it wins:
 * round_half_up(stake × Π coefficients, 2), as text; null when the stake
 * or a coefficient cannot be read. */
export function potentialPayout(stakeText, coefficientTexts) {
  if (!isAmount(stakeText)) return null;
  const coefficients = coefficientTexts.map(parseDecimal);
  if (coefficients.some((value) => value === null)) return null;
  return formatDecimal(toCents(product([parseDecimal(stakeText), ...coefficients])));
}

/** The product of coefficients as the API writes a bet's: at least two
 * decimals, as many as the product has. */
export function combinedCoefficient(coefficientTexts) {
  const coefficients = coefficientTexts.map(parseDecimal);
  if (coefficients.some((value) => value === null)) return null;
  return formatDecimal(product(coefficients));
}

/** -1, 0 or 1: how decimal `a` compares with `b` (texts). */
export function compareDecimals(a, b) {
  const left = parseDecimal(a);
  const right = parseDecimal(b);
  if (!left || !right) return 0;
  const scale = Math.max(left.scale, right.scale);
  const l = left.units * 10n ** BigInt(scale - left.scale);
  const r = right.units * 10n ** BigInt(scale - right.scale);
  return l < r ? -1 : l > r ? 1 : 0;
}

/** The smallest of amounts (texts), or null when there is none. */
export function smallest(texts) {
  return texts.reduce((least, text) => (least === null || compareDecimals(text, least) < 0 ? text : least), null);
}

/** `"12.30"` as 1230n cents (`"-0.5"` as -50n); null for anything that is
 * not a plain decimal with at most two places. */
export function cents(text) {
  const match = MONEY.exec(String(text ?? '').trim());
  if (!match) return null;
  const value = toCents(parseDecimal(match[2])).units;
  return match[1] ? -value : value;
}

/** How many whole percent of `whole` `part` is (rounded down), as a
 * BigInt; null when either is not an amount or `whole` is not above 0. */
export function percentOf(part, whole) {
  const numerator = cents(part);
  const denominator = cents(whole);
  if (numerator === null || denominator === null || denominator <= 0n) return null;
  return (numerator * 100n) / denominator;
}
