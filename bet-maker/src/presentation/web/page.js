// What the bettor app's parts share: the session (the bettor's token, kept
// for the tab only, sent as `Authorization: Bearer`), the API call that
// signs out on a 401, the alert region every refusal is shown in (the
// API's problem document, with a line saying what it means for the
// bettor), the notice, and formats.

import { Problem, api, clearProblem, fill, h, sessionValue, showProblem } from './common.js';

const byId = (id) => document.getElementById(id);

/** The page's shared regions. */
export const regions = {
  problem: byId('problem'),
  notice: byId('notice'),
  lineNews: byId('line-news'),
};

/** What a refusal means for the bettor, by the problem's type; the API's
 * own title and detail follow it. */
const MEANINGS = {
  'insufficient-funds': 'Not enough money in your wallet.',
  'negative-balance': 'Your balance is below zero after a corrected result.',
  'odds-changed': 'The odds changed.',
  'event-suspended': 'Betting on this event is paused.',
  'event-closed': 'This event takes no more bets.',
  'stake-limit': 'Above your stake limit.',
  'liability-limit': 'Above what the house takes on this event.',
  'payout-limit': 'Above the most one bet may pay.',
  'deposit-limit': 'Past your deposit limit.',
  excluded: 'You are taking a break: no bets or deposits until it ends.',
  'quote-expired': 'The cash-out offer ended.',
  'bet-settled': 'The bet is already settled.',
  'exclusion-locked': 'A break cannot be ended early.',
  unauthorized: 'You are signed out.',
  validation: 'Something to correct.',
};

function slugOf(problem) {
  const type = problem instanceof Problem ? problem.document.type || '' : '';
  return type.startsWith('urn:betting:problem:') ? type.slice('urn:betting:problem:'.length) : '';
}

/** Shows `problem` in the alert region: what it means, then the API's
 * problem document (title, detail, each invalid field). */
export function showRefusal(problem) {
  showProblem(regions.problem, problem);
  const meaning = MEANINGS[slugOf(problem)];
  if (meaning) regions.problem.prepend(h('p', { class: 'problem-meaning' }, meaning));
}

export function clearRefusal() {
  clearProblem(regions.problem);
}

/** Says `text` in the notice (a polite live region). */
export function announce(text) {
  fill(regions.notice, text);
}

/** The problem's type, without its `urn:betting:problem:` prefix. */
export function problemType(problem) {
  return slugOf(problem);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const brief = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** An instant as a `<time>`, in the browser's time zone. */
export function time(instant, format = dateTime) {
  const date = new Date(instant);
  return h('time', { datetime: instant }, Number.isNaN(date.getTime()) ? instant : format.format(date));
}

/** An instant in few characters: day, month and time ("7 Dec, 15:20"). */
export function briefTime(instant) {
  return time(instant, brief);
}

/** An instant as a clock time (to the second). */
export function clockTime(instant) {
  return time(instant, clock);
}

/** An amount and the wallet's currency: "10.50 EUR". */
export function money(amount, currency) {
  return currency ? `${amount} ${currency}` : amount;
}

/** An id short enough to read: its last 8 characters (UUID v7's first
 * ones are its time, alike for events made together). */
export function shortId(id) {
  return String(id).slice(-8);
}

/** Runs `call` unless `button`'s last call still runs (no double
 * submission). Marked `aria-busy`, not `disabled`: a disabled button
 * would drop the keyboard focus. */
export async function busy(button, call) {
  if (button.getAttribute('aria-busy') === 'true') return null;
  button.setAttribute('aria-busy', 'true');
  try {
    return await call();
  } finally {
    button.removeAttribute('aria-busy');
  }
}

/** A fresh `Idempotency-Key`: a retry of the same request sends the same. */
export function idempotencyKey() {
  return crypto.randomUUID();
}

/**
 * The signed-in bettor: their token for this tab, and API calls with it.
 * A 401 signs out (the token expired, or was never good), showing why.
 */
export class Session {
  constructor() {
    this.stored = sessionValue('bet-maker.bettor-token');
    this.listeners = [];
  }

  get token() {
    return this.stored.get();
  }

  get signedIn() {
    return Boolean(this.token);
  }

  /** The bettor the token names (its `sub`), for display only: the API
   * verifies the token on every call. */
  get bettor() {
    const token = this.token;
    if (!token) return '';
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const json = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
      return String(JSON.parse(json).sub || '');
    } catch {
      return '';
    }
  }

  /** Calls `fn(signedIn)` now and on every sign-in and sign-out. */
  onChange(fn) {
    this.listeners.push(fn);
  }

  signIn(token) {
    this.stored.set(token);
    for (const fn of this.listeners) fn(true);
  }

  signOut(problem) {
    const was = this.signedIn;
    this.stored.clear();
    if (problem) showRefusal(problem);
    if (was) for (const fn of this.listeners) fn(false);
  }

  /** `api(path, ...)` with the bettor's token; a 401 signs out and
   * rethrows. */
  async call(path, options = {}) {
    try {
      return await api(path, { ...options, token: this.token });
    } catch (problem) {
      if (problem instanceof Problem && problem.status === 401 && this.signedIn) {
        this.signOut(problem);
      }
      throw problem;
    }
  }
}
