// The back office: bet-maker's staff API, driven from a page.
//
// Signing in asks the API whether the token is a staff member's
// (`GET /admin/audit?limit=1`, which either scope may read: 401 for a
// token that is not valid, 403 for a bettor's); the token's claims are
// read only to say who signed in and to offer what its scope grants.
// Every section then calls its own endpoint, and a 403 there puts the
// API's reason in place of the section's controls.
//
// Live: the exposure, the dead letters and the audit log are read every
// second while the tab is visible, and at once after each action. A
// bet moves an event's exposure, and no stream a staff member may follow
// says so (`GET /events/stream` carries changes to the line, not bets;
// `GET /bets/stream` is one bettor's own), so polling is what shows it.

import { api, clearProblem, fill, pollWhileVisible, showProblem } from './common.js';
import { AdjustmentForm, BettorLimitsForm } from './actions.js';
import { ExposureTable } from './exposure.js';
import { AuditLog, DeadLetters } from './records.js';
import { SCOPES, claimsOf, dateTime, scopesOf, token, whenSignedOut } from './session.js';

const POLL_INTERVAL_MS = 1000;

const byId = (id) => document.getElementById(id);
const ui = {
  problem: byId('problem'),
  notice: byId('notice'),
  signIn: byId('sign-in'),
  signInForm: byId('sign-in-form'),
  tokenInput: byId('staff-token'),
  session: byId('session'),
  who: byId('session-who'),
  signOut: byId('sign-out'),
  workspace: byId('workspace'),
};

let poller = null;
const refreshSoon = () => poller?.refresh();
const exposure = new ExposureTable(refreshSoon);
const bettorLimits = new BettorLimitsForm(refreshSoon);
const adjustment = new AdjustmentForm(refreshSoon);
const audit = new AuditLog();
const deadLetters = new DeadLetters();

/** Which sections need which scope (the audit log: either). */
const NEEDS = [
  [exposure.section, 'trader'],
  [bettorLimits.section, 'trader'],
  [deadLetters.section, 'trader'],
  [adjustment.section, 'cashier'],
];

async function refreshAll() {
  await Promise.all([exposure.refresh(), deadLetters.refresh(), audit.refresh()]);
}

/** Says who signed in and what their scope grants (in the status line,
 * which a screen reader announces), and offers only the
 * sections it allows (a token whose claims cannot be read gets every
 * section, and the API's answer in each). */
function offer(candidate) {
  const claims = claimsOf(candidate);
  const scopes = scopesOf(claims);
  const who = claims?.sub ? String(claims.sub) : 'a staff member';
  const granted = scopes.filter((scope) => scope in SCOPES);
  fill(ui.who, `${who} · ${granted.length ? granted.join(', ') : 'no staff scope'}`);
  const expires = typeof claims?.exp === 'number' ? ` The token expires ${dateTime.format(new Date(claims.exp * 1000))}.` : '';
  const grants = granted.map((scope) => `${scope} (${SCOPES[scope]})`).join(' and ');
  fill(
    ui.notice,
    claims
      ? `Signed in as ${who}, with the scope ${grants || scopes.join(' ') || 'none'}.${expires}`
      : 'Signed in. The token is not a JWT this page can read: each section shows what the API allows.',
  );
  for (const [section, scope] of NEEDS) {
    const allowed = !claims || scopes.includes(scope);
    section.block(
      allowed ? null : `Needs a token whose scope grants ${scope}: this one grants ${scopes.join(' ') || 'nothing'}.`,
    );
  }
  audit.section.block(null);
}

function showWorkspace(candidate) {
  offer(candidate);
  ui.signIn.hidden = true;
  ui.session.hidden = false;
  ui.workspace.hidden = false;
  if (!poller) poller = pollWhileVisible(refreshAll, POLL_INTERVAL_MS);
}

/** Forgets the token; with `problem`, shows why. */
function signOut(problem) {
  token.clear();
  poller?.stop();
  poller = null;
  exposure.clear();
  audit.clear();
  deadLetters.clear();
  for (const section of [exposure.section, bettorLimits.section, adjustment.section, audit.section, deadLetters.section]) {
    section.clear();
  }
  ui.workspace.hidden = true;
  ui.session.hidden = true;
  ui.signIn.hidden = false;
  ui.tokenInput.value = '';
  fill(ui.notice);
  if (problem) {
    showProblem(ui.problem, problem);
  } else {
    clearProblem(ui.problem);
    fill(ui.notice, 'Signed out.');
  }
  ui.tokenInput.focus();
}

whenSignedOut(signOut);

/** Whether `candidate` is a staff member's token, as the API says: the
 * audit log answers either scope, 401 to an invalid token and 403 to a
 * bettor's. */
async function checkToken(candidate) {
  await api('/admin/audit?limit=1', { token: candidate });
}

function busy(button) {
  if (button.getAttribute('aria-disabled') === 'true') return false;
  button.setAttribute('aria-disabled', 'true');
  return true;
}

ui.signInForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const submit = ui.signInForm.querySelector('button[type="submit"]');
  if (!busy(submit)) return;
  clearProblem(ui.problem);
  fill(ui.notice);
  const candidate = ui.tokenInput.value.trim();
  try {
    await checkToken(candidate);
  } catch (problem) {
    showProblem(ui.problem, problem);
    ui.tokenInput.select();
    return;
  } finally {
    submit.removeAttribute('aria-disabled');
  }
  token.set(candidate);
  ui.tokenInput.value = '';
  showWorkspace(candidate);
  // The focus goes to the first section this token may use.
  const first = NEEDS.find(([section]) => !section.blocked)?.[0] ?? audit.section;
  first.heading.focus();
});

ui.signOut.addEventListener('click', () => signOut());

// A token kept from earlier in this tab's session is checked again first.
const kept = token.get();
if (kept) {
  checkToken(kept).then(
    () => showWorkspace(kept),
    (problem) => signOut(problem),
  );
}
