// The bettor app (bet-maker `GET /`) in a real browser, against the real
// services, driven only by the accessible names of SPEC "Web": the
// development sign-in, a deposit through the sandbox, a single and an
// accumulator, the line moving live, a stale price refused, a cash-out,
// a settlement seen without a reload; a suspended event not addable;
// withdrawals, deposit limits and a time-out; the keyboard; a phone-sized
// screen; the token sign-in when the development one is off; and the axe
// audit in each state.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';

import {
  assertNoProblems,
  audit,
  call,
  eventually,
  expectFocused,
  expectText,
  expectVisible,
  openEvent as openEventAt,
  openPage,
  region,
  screenshot,
  servicesAndBrowser,
  shownProblem,
} from './browser.mjs';
import { startServices } from './harness.mjs';

const suite = servicesAndBrowser('bettor');

// --- the APIs, as the test sees them (to arrange, and to check the page) ---

/** An operator call to line-provider. */
async function operator(method, path, body) {
  const answer = await call(suite.services.lineProvider.url, method, path, { body, token: suite.services.operatorToken });
  assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** A bettor's call to bet-maker, with the token `bet-maker token` signs. */
async function asBettor(name, method, path, body) {
  return call(suite.services.betMaker.url, method, path, { body, token: await suite.services.bettorToken(name) });
}

/** An event on the line, a day ahead, once bet-maker offers it. */
function openEvent(coefficient) {
  return openEventAt(suite.services, coefficient);
}

function freshBettor(prefix) {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

// --- the page ------------------------------------------------------------------

async function openApp(t, options) {
  const page = await openPage(t, suite.browser, `${suite.services.betMaker.url}/`, options);
  // Counts navigations from now on: what follows must happen live.
  page.loads = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) page.loads += 1;
  });
  return page;
}

async function signIn(page, name) {
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectText(page.getByRole('banner'), `Signed in as ${name}`);
}

const eventOnLine = (page, id) => region(page, 'Line').getByRole('article', { name: id });
const slip = (page) => region(page, 'Bet slip');
const myBets = (page) => region(page, 'My bets');
const balance = (page) => page.getByRole('status', { name: 'Balance' });
const notices = (page) => page.getByRole('status', { name: 'Notices' });
const betOn = (page, eventId) => myBets(page).getByRole('article').filter({ hasText: eventId });

async function deposit(page, amount) {
  await page.getByLabel('Amount').fill(amount);
  await page.getByRole('button', { name: 'Deposit' }).click();
  await expectText(notices(page), `Deposit of ${amount} EUR requested`);
}

async function addToSlip(page, id) {
  await eventOnLine(page, id).getByRole('button', { name: 'Add to slip' }).click();
  await expectText(slip(page), id);
}

async function placeBet(page, stake) {
  await slip(page).getByLabel('Stake').fill(stake);
  await slip(page).getByRole('button', { name: 'Place bet' }).click();
  await expectText(notices(page), 'Bet placed');
}

// --- the tests -----------------------------------------------------------------------

test('signed out, the app shows the live line and the sign-in, and passes the audit', async (t) => {
  const event = await openEvent('1.72');
  const page = await openApp(t);

  await expectVisible(page.getByLabel('Name'));
  await expectText(eventOnLine(page, event.id), '1.72');
  await expectText(eventOnLine(page, event.id), 'Open');
  assert.equal(await region(page, 'My bets').count(), 0, 'no bets before signing in');
  await audit(page, 'the bettor app, signed out');

  // A name that is no bettor's id: the API's refusal, as it says it.
  await page.getByRole('button', { name: 'Sign in' }).click();
  const empty = await call(suite.services.betMaker.url, 'POST', '/dev/sign-in', { body: { name: '' } });
  assert.equal(empty.status, 422);
  await shownProblem(page, empty.body.title, empty.body.errors[0].message);
  assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), 'true');
  await audit(page, 'the bettor app, a sign-in refused');
  assertNoProblems(page);
});

test('a bettor deposits, bets a single and an accumulator, sees the line move, is refused a stale price, cashes out, and sees the other bet won, all live', async (t) => {
  const [single, first, second] = [await openEvent('1.85'), await openEvent('2.10'), await openEvent('1.50')];
  const name = freshBettor('ada');
  const page = await openApp(t);
  await signIn(page, name);
  await expectText(balance(page), '0.00 EUR');
  await expectFocused(page.getByRole('heading', { name: 'Wallet' }));

  // Money in through the payment provider: the sandbox confirms it, and
  // the balance changes by itself.
  await deposit(page, '100.00');
  await expectText(balance(page), '100.00 EUR');
  await expectText(region(page, 'Wallet'), 'Succeeded');
  await expectText(region(page, 'Statement'), 'Deposit');

  // A single, with the max stake the API gives (the balance, here).
  await addToSlip(page, single.id);
  await expectText(slip(page), 'Single at 1.85');
  await expectText(slip(page), 'Max stake: 100.00 EUR');
  await slip(page).getByLabel('Stake').fill('10.00');
  await expectText(slip(page), 'Potential payout: 18.50 EUR');
  await placeBet(page, '10.00');
  await expectText(betOn(page, single.id), 'Single');
  await expectText(betOn(page, single.id), 'Pending');
  await expectText(balance(page), '90.00 EUR');

  // An accumulator: the exact product of its legs, and what it pays.
  await addToSlip(page, first.id);
  await addToSlip(page, second.id);
  await expectText(slip(page), 'Accumulator of 2 events at 3.15');
  await slip(page).getByLabel('Stake').fill('5.00');
  await expectText(slip(page), 'Potential payout: 15.75 EUR');
  await placeBet(page, '5.00');
  const accumulator = myBets(page).getByRole('article', { name: /Accumulator of 2 events/ });
  await expectText(accumulator, first.id);
  await expectText(accumulator, second.id);
  await expectText(balance(page), '85.00 EUR');

  // The operator moves a coefficient: the line shows it live, announced,
  // and the slip, holding the old price, says so.
  await addToSlip(page, single.id);
  await operator('PATCH', `/events/${single.id}`, { coefficient: '1.95' });
  await expectText(eventOnLine(page, single.id), '1.95');
  await expectText(page.getByRole('status', { name: 'Line changes' }), 'coefficient up from 1.85 to 1.95');
  await expectText(slip(page), 'now 1.95');

  // Placed at the price seen, not accepting a change: the API refuses it.
  assert.equal(await slip(page).getByLabel('Accept odds changes').inputValue(), 'none');
  await slip(page).getByLabel('Stake').fill('2.00');
  await slip(page).getByRole('button', { name: 'Place bet' }).click();
  await shownProblem(page, 'The odds changed.', 'Conflict', 'the coefficient is now 1.95, not the 1.85 the bet was asked at');
  await audit(page, 'the bettor app, a stale price refused');
  const { body: placed } = await asBettor(name, 'GET', '/bets');
  assert.equal(placed.items.length, 2, 'nothing placed at the stale price');
  await expectText(balance(page), '85.00 EUR');
  await slip(page).getByRole('listitem').filter({ hasText: single.id }).getByRole('button', { name: 'Remove' }).click();
  await expectText(slip(page), 'Empty');

  // Cash out the single: 10.00 × 1.85 / 1.95 × (1 − 0.05) = 9.0128…, floored.
  await betOn(page, single.id).filter({ hasText: 'Single' }).getByRole('button', { name: 'Cash out' }).click();
  const offer = betOn(page, single.id).getByRole('group');
  await expectText(offer, 'Cash out for 9.01 EUR?');
  await expectFocused(offer.getByRole('button', { name: 'Confirm cash out' }));
  await audit(page, 'the bettor app, a cash-out offer');
  await offer.getByRole('button', { name: 'Confirm cash out' }).click();
  await expectText(betOn(page, single.id).filter({ hasText: 'Single' }), 'Cashed out');
  await expectText(balance(page), '94.01 EUR');

  // The accumulator's events finish as won: the page shows it won and
  // paid, without a reload.
  await operator('PUT', `/events/${first.id}/status`, { status: 'FINISHED_WIN' });
  await operator('PUT', `/events/${second.id}/status`, { status: 'FINISHED_WIN' });
  await expectText(accumulator, 'Won');
  await expectText(accumulator, 'Payout 15.75 EUR');
  await expectText(balance(page), '109.76 EUR');
  await expectText(region(page, 'Statement'), 'Payout');
  await expectText(region(page, 'Statement'), 'Cash-out');
  assert.equal(page.loads, 0, 'all of it live: the page was never reloaded');
  const { body: wallet } = await asBettor(name, 'GET', '/wallet');
  assert.equal(wallet.balance, '109.76');
  const { body: settled } = await asBettor(name, 'GET', '/bets');
  assert.deepEqual(settled.items.map((bet) => bet.status).sort(), ['CASHED_OUT', 'WON']);

  // One more event, suspended, for the picture of a line in both states.
  const paused = await openEvent('4.20');
  await operator('PUT', `/events/${paused.id}/status`, { status: 'SUSPENDED' });
  await expectText(eventOnLine(page, paused.id), 'Suspended');
  await audit(page, 'the bettor app, signed in with bets');
  await page.getByRole('heading', { name: 'Bettor app' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'bettor');
  assertNoProblems(page);
});

test('a suspended event is greyed out and cannot be added to the slip, until it resumes', async (t) => {
  const event = await openEvent('3.30');
  const page = await openApp(t);
  await signIn(page, freshBettor('ben'));
  const add = eventOnLine(page, event.id).getByRole('button', { name: 'Add to slip' });

  await operator('PUT', `/events/${event.id}/status`, { status: 'SUSPENDED' });
  await expectText(eventOnLine(page, event.id), 'Suspended');
  await eventually('Add to slip disabled', async () => (await add.getAttribute('aria-disabled')) === 'true');
  // Still reachable by keyboard, saying why it does nothing.
  await add.focus();
  await page.keyboard.press('Enter');
  await expectText(notices(page), 'is suspended');
  await expectText(slip(page), 'Empty');
  await audit(page, 'the bettor app, a suspended event');

  await operator('PUT', `/events/${event.id}/status`, { status: 'NEW' });
  await expectText(eventOnLine(page, event.id), 'Open');
  await expectText(page.getByRole('status', { name: 'Line changes' }), 'is open again');
  await add.click();
  await expectText(slip(page), event.id);
  assert.equal(await add.getAttribute('aria-pressed'), 'true');
  assertNoProblems(page);
});

test('withdrawing, a deposit limit and a time-out, each refusal as the API says it', async (t) => {
  const event = await openEvent('1.40');
  const name = freshBettor('cy');
  const page = await openApp(t);
  await signIn(page, name);
  await deposit(page, '50.00');
  await expectText(balance(page), '50.00 EUR');

  // More than the balance: insufficient funds.
  await page.getByLabel('Amount').fill('80.00');
  await page.getByRole('button', { name: 'Withdraw' }).click();
  await shownProblem(page, 'Not enough money in your wallet.', 'the balance is 50.00');
  await page.getByLabel('Amount').fill('20.00');
  await page.getByRole('button', { name: 'Withdraw' }).click();
  await expectText(notices(page), 'Withdrawal of 20.00 EUR requested');
  await expectText(balance(page), '30.00 EUR');
  await expectText(region(page, 'Wallet'), 'Paid');

  // A daily deposit limit of 60.00, then 40.00 more is past it.
  await page.getByLabel('Daily deposit limit').fill('60.00');
  await page.getByRole('button', { name: 'Save limits' }).click();
  await expectText(notices(page), 'Limits saved.');
  await expectText(region(page, 'Limits and time-out'), 'Now 60.00 EUR');
  await page.getByLabel('Amount').fill('40.00');
  await page.getByRole('button', { name: 'Deposit' }).click();
  const limited = await asBettor(name, 'POST', '/wallet/deposits', { amount: '40.00' });
  assert.equal(limited.status, 409);
  await shownProblem(page, 'Past your deposit limit.', limited.body.detail);

  // A time-out, confirmed: then no bets and no deposits.
  await page.getByLabel('Break', { exact: true }).selectOption({ label: 'Time-out: 24 hours' });
  await page.getByRole('button', { name: 'Take a time-out' }).click();
  const confirm = region(page, 'Limits and time-out').getByRole('group');
  await expectText(confirm, 'cannot be ended early');
  await expectFocused(confirm.getByRole('button', { name: 'Confirm' }));
  await confirm.getByRole('button', { name: 'Confirm' }).click();
  await expectText(region(page, 'Limits and time-out'), 'On a time-out until');
  await audit(page, 'the bettor app, on a time-out');

  await page.getByLabel('Amount').fill('5.00');
  await page.getByRole('button', { name: 'Deposit' }).click();
  const excluded = await asBettor(name, 'POST', '/wallet/deposits', { amount: '5.00' });
  assert.equal(excluded.status, 403);
  await shownProblem(page, 'You are taking a break', excluded.body.detail);
  await addToSlip(page, event.id);
  await slip(page).getByLabel('Stake').fill('1.00');
  await slip(page).getByRole('button', { name: 'Place bet' }).click();
  await shownProblem(page, 'You are taking a break', excluded.body.detail);
  const { body: none } = await asBettor(name, 'GET', '/bets');
  assert.equal(none.items.length, 0, 'no bet while on a time-out');
  await expectText(balance(page), '30.00 EUR');
  assertNoProblems(page);
});

test('by keyboard alone: sign in, add to the slip, place a bet', async (t) => {
  const event = await openEvent('2.40');
  const page = await openApp(t);
  const name = freshBettor('dee');
  await deposit_for(name, '20.00');

  await page.getByLabel('Name').focus();
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await expectFocused(page.getByRole('heading', { name: 'Wallet' }));
  await expectText(balance(page), '20.00 EUR');

  await eventOnLine(page, event.id).getByRole('button', { name: 'Add to slip' }).focus();
  await page.keyboard.press('Space');
  await expectText(slip(page), event.id);
  await slip(page).getByLabel('Stake').focus();
  await page.keyboard.type('4.00');
  await page.keyboard.press('Tab');
  await expectFocused(slip(page).getByLabel('Accept odds changes'));
  await page.keyboard.press('Tab');
  await expectFocused(slip(page).getByRole('button', { name: 'Place bet' }));
  await page.keyboard.press('Enter');
  await expectText(notices(page), 'Bet placed: Single, stake 4.00 EUR at 2.40');
  await expectText(balance(page), '16.00 EUR');
  assertNoProblems(page);
});

/** `amount` in `name`'s wallet before the page signs in (the sandbox
 * confirms it). */
async function deposit_for(name, amount) {
  const asked = await asBettor(name, 'POST', '/wallet/deposits', { amount });
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  await eventually(`${amount} in ${name}'s wallet`, async () => (await asBettor(name, 'GET', '/wallet')).body.balance === amount);
}

test('on a phone-sized screen: sign in, the line and the slip', async (t) => {
  const [one, two] = [await openEvent('1.66'), await openEvent('2.05')];
  const name = freshBettor('eve');
  await deposit_for(name, '25.00');
  const page = await openApp(t);
  await page.setViewportSize({ width: 375, height: 812 });

  await signIn(page, name);
  await expectText(balance(page), '25.00 EUR');
  await addToSlip(page, one.id);
  await addToSlip(page, two.id);
  await slip(page).getByLabel('Stake').fill('3.00');
  await expectText(slip(page), 'Accumulator of 2 events at 3.403');
  await expectText(slip(page), 'Potential payout: 10.21 EUR');
  // Nothing wider than the screen: no sideways scrolling.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the page is ${width} px wide on a 375 px screen`);
  await audit(page, 'the bettor app on a phone');
  await slip(page).scrollIntoViewIfNeeded();
  await screenshot(page, 'bettor-phone');
  await placeBet(page, '3.00');
  await expectText(myBets(page), 'Accumulator of 2 events');
  assertNoProblems(page);
});

/**
 * A TCP proxy in front of bet-maker that the test can cut: `down()`
 * closes every connection through it and refuses new ones until `up()`.
 * The page is opened through it, so its streams go through it too.
 */
async function cuttableProxy(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    down() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      open = true;
    },
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(resolve);
    }),
  };
}

test('a dropped bets stream comes back with Last-Event-ID, and nothing that happened meanwhile is missed', async (t) => {
  const event = await openEvent('1.90');
  const name = freshBettor('gus');
  await deposit_for(name, '10.00');
  const proxy = await cuttableProxy(suite.services.betMaker.url);
  t.after(() => proxy.close());
  const page = await openPage(t, suite.browser, `${proxy.url}/`);
  const connections = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/bets/stream')) connections.push(request.headers()['last-event-id'] ?? null);
  });
  await signIn(page, name);
  await expectText(balance(page), '10.00 EUR');
  await addToSlip(page, event.id);
  await placeBet(page, '2.00');
  await expectText(balance(page), '8.00 EUR');
  await expectText(myBets(page), 'Live');
  assert.deepEqual(connections, [null], 'one connection, from the start');

  // The connection goes; the bet is settled meanwhile.
  proxy.down();
  await expectText(myBets(page), 'Reconnecting');
  await operator('PUT', `/events/${event.id}/status`, { status: 'FINISHED_WIN' });
  await eventually('the bet settled on the API', async () => {
    const { body } = await asBettor(name, 'GET', '/bets');
    return body.items[0]?.status === 'WON';
  });
  proxy.up();

  await expectText(betOn(page, event.id), 'Won', 'the settlement missed while away, on the page');
  await expectText(balance(page), '11.80 EUR');
  await expectText(myBets(page), 'Live');
  const resumed = connections.filter((id) => id !== null);
  assert.ok(resumed.length >= 1, `reconnected with Last-Event-ID: ${JSON.stringify(connections)}`);
  assert.ok(resumed.every((id) => /^\d+$/.test(id)), `positions the stream sent: ${JSON.stringify(connections)}`);
  // Not assertNoProblems: the loads the test cut short are its own doing.
});

test('with the development sign-in off, the app asks for a token from the identity provider', async (t) => {
  const offline = await startServices('bettor_token', { betMakerEnv: { BET_MAKER_DEV_SIGN_IN: 'false' } });
  t.after(() => offline.stop());
  const page = await openPage(t, suite.browser, `${offline.betMaker.url}/`);

  await expectVisible(page.getByLabel('Token'));
  assert.equal(await page.getByRole('textbox', { name: 'Name' }).count(), 0, 'no development sign-in');
  await audit(page, 'the bettor app, asking for a token');

  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const refused = await call(offline.betMaker.url, 'GET', '/wallet', { token: 'not-a-token' });
  assert.equal(refused.status, 401);
  await shownProblem(page, refused.body.title, refused.body.detail);

  const name = freshBettor('fay');
  await page.getByLabel('Token').fill(await offline.bettorToken(name));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectText(page.getByRole('banner'), `Signed in as ${name}`);
  await expectText(balance(page), '0.00 EUR');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expectFocused(page.getByLabel('Token'));
  assertNoProblems(page);
});
