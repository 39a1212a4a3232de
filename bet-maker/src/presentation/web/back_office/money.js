// Money on the back office stays exact: every amount shown is the API's
// own string ("1000000.00"), and what the page works out itself (the
// share of its maximum an event's liability takes) is done in whole
// cents with BigInt, never with floating-point numbers.

const MONEY = /^(-?)(\d+)(?:\.(\d{1,2}))?$/;

/** `"12.30"` as 1230n cents; null for anything that is not a plain
 * decimal with at most two places. */
export function cents(text) {
  const match = MONEY.exec(String(text ?? '').trim());
  if (!match) return null;
  const [, sign, whole, fraction = ''] = match;
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
  return sign ? -value : value;
}

/** How many whole percent of `whole` `part` is (rounded down), as a
 * BigInt; null when either is not an amount or `whole` is not above 0. */
export function percentOf(part, whole) {
  const numerator = cents(part);
  const denominator = cents(whole);
  if (numerator === null || denominator === null || denominator <= 0n) return null;
  return (numerator * 100n) / denominator;
}
