// The staff session: the token (kept for this tab only), what its claims
// say about who holds it and what its scope grants (read for display
// only: the API decides every call), and the calls themselves, each
// answered in the section that made it.

import { Problem, api, clearProblem, fill, showProblem, sessionValue } from './common.js';

/** The staff token, for this tab's session only. */
export const token = sessionValue('bet-maker.staff-token');

/** The scopes the back office knows, and what each opens. */
export const SCOPES = {
  trader: 'the exposure, the limits and the dead letters',
  cashier: 'cashier adjustments',
};

/**
 * The token's claims (its payload, base64url JSON), or null when it is
 * not a readable JWT. Not verified here: the signature is the API's to
 * check; this only says what the page should offer.
 *
 * @param {string} jwt
 * @returns {{sub?: string, scope?: string, exp?: number}|null}
 */
export function claimsOf(jwt) {
  const parts = String(jwt || '').split('.');
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '=');
    const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** The scope claim's values (space separated, as OAuth 2.0 spells it). */
export function scopesOf(claims) {
  return typeof claims?.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
}

let onSignedOut = () => {};

/** What to do when the API no longer takes the token (a 401). */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

/**
 * One part of the page (a `<section>` with a heading): its alert for the
 * API's refusals, its status line for what was done, and, when the
 * token's scope does not allow it, a note saying so in place of its
 * controls.
 */
export class Section {
  constructor(id) {
    this.element = document.getElementById(id);
    this.heading = this.element.querySelector('h2');
    this.note = this.element.querySelector('.scope-note');
    this.body = this.element.querySelector('.section-body');
    this.alert = this.body.querySelector('[role="alert"]');
    this.status = this.body.querySelector('[role="status"]');
    this.freshness = this.element.querySelector('.freshness');
    this.blocked = false;
  }

  /** Shows `text` instead of the section's controls (the scope does not
   * allow them), or, with null, the controls again. */
  block(text) {
    this.blocked = text !== null;
    this.note.hidden = !this.blocked;
    this.body.hidden = this.blocked;
    fill(this.note, text || '');
    if (this.freshness) this.freshness.hidden = this.blocked;
  }

  announce(text) {
    if (this.status) fill(this.status, text);
  }

  clear() {
    clearProblem(this.alert);
    this.announce('');
  }

  refused(problem) {
    showProblem(this.alert, problem);
  }

  /** Says when the section was last refreshed, or why it was not. */
  fresh(at) {
    if (!this.freshness) return;
    this.freshness.classList.remove('stale');
    fill(this.freshness, `Live: refreshed at ${clock.format(at)}.`);
  }

  stale(problem) {
    if (!this.freshness) return;
    this.freshness.classList.add('stale');
    fill(this.freshness, `Not refreshed at ${clock.format(new Date())}: ${problem.title}. ${problem.detail}`);
  }
}

export const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
export const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/**
 * A staff call for `section`. Resolves to the API's answer, or to null
 * after the refusal was dealt with (or when the session ended while it
 * was under way): a 401 ends the session (shown at the
 * sign-in), a 403 puts the API's reason in place of the section's
 * controls, anything else is shown in the section's alert (an action) or
 * as its freshness (a refresh, `refresh: true`).
 */
export async function staffCall(section, path, { method = 'GET', body, refresh = false } = {}) {
  if (!refresh) section.clear();
  const used = token.get();
  try {
    const { data } = await api(path, { method, body, token: used });
    // Signed out (or in as someone else) meanwhile: not this session's.
    return token.get() === used ? data : null;
  } catch (problem) {
    if (token.get() !== used) return null;
    const found = problem instanceof Problem ? problem : new Problem({ title: 'Error', detail: String(problem) }, 0);
    if (found.status === 401) {
      onSignedOut(found);
    } else if (found.status === 403) {
      section.block(`${found.title}: ${found.detail}`);
    } else if (refresh) {
      section.stale(found);
    } else {
      section.refused(found);
    }
    return null;
  }
}

/** A refusal made by the page itself, before asking the API (a field the
 * URL needs is empty), shown as the API's are. */
export function localProblem(title, detail) {
  return new Problem({ title, detail }, 0);
}
