// The bettor app: bet-maker's own REST API and live streams, driven from
// a page. Signed out it shows the line (public); signed in (the
// development sign-in's `Name`, or a token from the identity provider) it
// adds the slip's placing, the wallet, my bets, the statement, and limits
// and time-out, all kept live by `GET /bets/stream`, which needs the
// token and is therefore read with fetch (sse.js).

import { Problem, api, fill } from './common.js';
import { Line } from './line.js';
import { Slip } from './slip.js';
import { Wallet } from './wallet.js';
import { MyBets } from './bets.js';
import { Limits } from './limits.js';
import { AuthorizedEventStream } from './sse.js';
import { Session, announce, busy, clearRefusal, showRefusal } from './page.js';

const byId = (id) => document.getElementById(id);
const ui = {
  signIn: byId('sign-in'),
  signInLoading: byId('sign-in-loading'),
  devForm: byId('dev-sign-in-form'),
  devName: byId('dev-name'),
  tokenForm: byId('token-sign-in-form'),
  tokenInput: byId('token'),
  session: byId('session'),
  sessionName: byId('session-name'),
  signOut: byId('sign-out'),
  signedInOnly: ['wallet', 'my-bets', 'statement', 'limits'].map(byId),
  walletHeading: byId('wallet-heading'),
};

const session = new Session();
const line = new Line();
const wallet = new Wallet(session);
const currency = () => wallet.currency;
const bets = new MyBets(session, currency);
const limits = new Limits(session, currency);
const slip = new Slip(session, line, { onPlaced: (bet) => bets.apply(bet), currency });
line.slip = slip;

wallet.onChange(() => {
  slip.showTotals();
  slip.refreshMaxStake();
});

// --- the bettor's stream: bets and wallet, live --------------------------

let stream = null;
/** A reload of everything the stream keeps up to date, while it runs;
 * messages arriving meanwhile wait for it, so an older answer never
 * overwrites a newer message. */
let reloading = null;
let waiting = [];

function deliver(message) {
  if (reloading) waiting.push(message);
  else apply(message);
}

function apply({ type, data }) {
  if (!data) return;
  if (type === 'bet') bets.apply(data);
  else if (type === 'wallet') wallet.moved(data);
}

function reloadAll() {
  if (reloading) return reloading;
  reloading = (async () => {
    try {
      await Promise.all([wallet.reload(), bets.reload(), limits.reload()]);
      bets.refresh();
    } finally {
      reloading = null;
      const held = waiting;
      waiting = [];
      for (const message of held) apply(message);
    }
  })();
  return reloading;
}

function follow() {
  stream?.stop();
  stream = new AuthorizedEventStream('/bets/stream', {
    token: session.token,
    onOpen: ({ resumed }) => {
      if (!resumed) reloadAll();
    },
    onMessage: deliver,
    onReset: () => reloadAll(),
    onRefused: (problem) => {
      if (problem.status === 401) session.signOut(problem);
      else showRefusal(problem);
    },
    onState: (text) => bets.state(text),
  });
  stream.start();
}

// --- signing in and out ---------------------------------------------------

session.onChange((signedIn) => {
  ui.signIn.hidden = signedIn;
  ui.session.hidden = !signedIn;
  for (const section of ui.signedInOnly) section.hidden = !signedIn;
  if (signedIn) {
    fill(ui.sessionName, session.bettor || 'a bettor');
    follow();
    slip.refreshMaxStake();
  } else {
    stream?.stop();
    stream = null;
    wallet.clear();
    bets.clear();
    limits.clear();
    slip.refreshMaxStake();
    (ui.devForm.hidden ? ui.tokenInput : ui.devName).focus();
  }
});

ui.devForm.addEventListener('submit', (e) => {
  e.preventDefault();
  busy(e.submitter || ui.devForm.querySelector('button'), async () => {
    clearRefusal();
    try {
      const { data } = await api('/dev/sign-in', { method: 'POST', body: { name: ui.devName.value.trim() } });
      signedIn(data.token);
    } catch (problem) {
      if (problem instanceof Problem && problem.status === 422) ui.devName.setAttribute('aria-invalid', 'true');
      showRefusal(problem);
    }
  });
});
ui.devName.addEventListener('input', () => ui.devName.removeAttribute('aria-invalid'));

ui.tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  busy(e.submitter || ui.tokenForm.querySelector('button'), async () => {
    clearRefusal();
    const token = ui.tokenInput.value.trim();
    try {
      // Whether the API takes it: the wallet is the bettor's own call.
      await api('/wallet', { token });
      signedIn(token);
    } catch (problem) {
      showRefusal(problem);
    }
  });
});

function signedIn(token) {
  ui.tokenInput.value = '';
  session.signIn(token);
  announce(`Signed in as ${session.bettor || 'a bettor'}.`);
  ui.walletHeading.focus();
}

ui.signOut.addEventListener('click', () => {
  clearRefusal();
  session.signOut();
  announce('Signed out.');
});

/** The development sign-in when the service offers it, else the token. */
async function offerSignIn() {
  let dev = false;
  try {
    await api('/dev/sign-in');
    dev = true;
  } catch (problem) {
    if (!(problem instanceof Problem) || problem.status !== 404) showRefusal(problem);
  }
  ui.signInLoading.hidden = true;
  ui.devForm.hidden = !dev;
  ui.tokenForm.hidden = dev;
}

// --- start ----------------------------------------------------------------------

line.start();
offerSignIn().then(() => {
  if (session.signedIn) {
    // A reload of the tab keeps the bettor signed in (session storage).
    ui.signIn.hidden = true;
    session.signIn(session.token);
  }
});
