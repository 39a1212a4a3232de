// The back office (bet-maker `GET /admin`) in a real browser, against the
// real services, driven only by the accessible names of SPEC "Web": the
// staff sign-in and its refusals, a trader watching an event's exposure
// move as a bettor bets (through the REST API) and setting limits the
// bettor's next bet meets, a cashier's adjustments (one refused: never
// below 0.00), the audit log, the dead letters, a cashier-only token's
// view, and the axe audit signed out and signed in.

import assert from 'node:assert/strict';
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

// bet-maker reads the dead-letter queue's depth this often (15 s by
// default): the page shows the reading.
process.env.BET_MAKER_DLQ_CHECK_INTERVAL_MS = '500';

/** A trader and cashier's token, as most tests sign in. */
let staff;
const suite = servicesAndBrowser('back_office', {
  prepare: async (services) => {
    staff = await services.staffToken('tess', 'trader cashier');
  },
});

// --- the APIs, as the test sees them ------------------------------------------

const betMaker = (method, path, options) => call(suite.services.betMaker.url, method, path, options);

/** An event created at line-provider, once bet-maker has it (through
 * RabbitMQ): its id. */
async function openEvent(coefficient) {
  return (await openEventAt(suite.services, coefficient, { daysAhead: 400 })).id;
}

async function bet(bettorToken, eventId, amount) {
  return betMaker('POST', '/bets', { token: bettorToken, body: { event_id: eventId, amount } });
}

// --- the page -------------------------------------------------------------------

async function openBackOffice(t) {
  return openPage(t, suite.browser, `${suite.services.betMaker.url}/admin`);
}

async function signIn(page, staffToken = staff) {
  await page.getByLabel('Staff token').fill(staffToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectVisible(page.getByRole('button', { name: 'Sign out' }));
}

/** The event's row in the Exposure table. */
function exposureRow(page, eventId) {
  return region(page, 'Exposure').getByRole('row', { name: new RegExp(eventId) });
}

// --- the tests ---------------------------------------------------------------------

test("signed out, only the sign-in; a bettor's token is refused with the API's 403, a bad one with its 401", async (t) => {
  const page = await openBackOffice(t);
  await expectVisible(page.getByLabel('Staff token'));
  await expectText(page.getByRole('region', { name: 'Staff sign-in' }), 'bet-maker token <name> --scope "trader cashier"');
  assert.equal(await region(page, 'Exposure').count(), 0, 'nothing to see before signing in');
  await audit(page, 'the back office, signed out');

  const bettorToken = await suite.services.bettorToken('alice');
  const forbidden = await betMaker('GET', '/admin/audit?limit=1', { token: bettorToken });
  assert.equal(forbidden.status, 403);
  await page.getByLabel('Staff token').fill(bettorToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await shownProblem(page.getByRole('main'), forbidden.body.title, forbidden.body.detail);
  assert.equal(await region(page, 'Exposure').count(), 0, 'still signed out');

  const wrong = `${staff.slice(0, -4)}AAAA`;
  const unauthorized = await betMaker('GET', '/admin/audit?limit=1', { token: wrong });
  assert.equal(unauthorized.status, 401);
  await page.getByLabel('Staff token').fill(wrong);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await shownProblem(page.getByRole('main'), unauthorized.body.title, unauthorized.body.detail);
  assert.equal(await region(page, 'Exposure').count(), 0, 'still signed out');
  await audit(page, 'the back office, a token refused');
  assertNoProblems(page);
});

test("a cashier's token: the trader's sections say what they need, the cashier's works", async (t) => {
  const cashier = await suite.services.staffToken('cleo', 'cashier');
  const page = await openBackOffice(t);
  await signIn(page, cashier);

  await expectText(page.getByText(/^Signed in as cleo/), 'with the scope cashier');
  for (const name of ['Exposure', 'Bettor limits', 'Dead letters']) {
    await expectText(region(page, name), 'Needs a token whose scope grants trader: this one grants cashier.');
    assert.equal(await region(page, name).getByRole('button').count(), 0, `no controls in ${name}`);
  }
  await expectVisible(region(page, 'Cashier adjustment').getByRole('button', { name: 'Adjust' }));
  await expectText(region(page, 'Audit log'), 'Live: refreshed');
  await audit(page, 'the back office, signed in as a cashier');
  assertNoProblems(page);
});

test("a trader sees an event's exposure move as a bettor bets, and sets the limits the bettor's next bets meet", async (t) => {
  const favourite = await openEvent('2.50');
  const outsider = await openEvent('1.80');
  const alice = await suite.services.bettorToken('alice');
  const bob = await suite.services.bettorToken('bob');
  const page = await openBackOffice(t);

  // By keyboard: the token, Enter; the focus goes to the Exposure.
  await page.keyboard.press('Tab');
  await expectFocused(page.getByLabel('Staff token'));
  await page.keyboard.type(staff);
  await page.keyboard.press('Enter');
  await expectFocused(region(page, 'Exposure').getByRole('heading', { name: 'Exposure' }));
  await expectText(page.getByText(/^Signed in as tess/), 'with the scope trader');
  await expectText(page.getByText(/^Signed in as tess/), 'and cashier');

  const row = exposureRow(page, favourite);
  await expectText(row, /Open .*2\.50 0 0\.00 0\.00 0\.00 0 % of max 1000000\.00 the default/);

  // The cashier pays 100.00 into alice's wallet, from the page.
  const cashier = region(page, 'Cashier adjustment');
  await cashier.getByLabel('Bettor').fill('alice');
  await cashier.getByLabel('Amount').fill('100.00');
  await cashier.getByLabel('Reason').fill('Cash paid in at the Main Street desk');
  await cashier.getByRole('button', { name: 'Adjust' }).click();
  await expectText(cashier.getByRole('status'), 'Adjusted the wallet of alice by 100.00: its balance is 100.00.');
  assert.equal((await betMaker('GET', '/wallet', { token: alice })).body.balance, '100.00');

  // More than she has: refused whole (409), as the API says it.
  await cashier.getByLabel('Bettor').fill('alice');
  await cashier.getByLabel('Amount').fill('-250.00');
  await cashier.getByLabel('Reason').fill('A refund counted twice');
  await cashier.getByRole('button', { name: 'Adjust' }).click();
  const refused = await betMaker('POST', '/admin/wallets/alice/adjustments', {
    token: staff,
    body: { amount: '-250.00', reason: 'A refund counted twice' },
  });
  assert.equal(refused.status, 409);
  await shownProblem(cashier, refused.body.title, refused.body.detail);
  assert.equal((await betMaker('GET', '/wallet', { token: alice })).body.balance, '100.00', 'nothing taken');

  // alice bets through the REST API; the page shows it within a refresh.
  const placed = await bet(alice, favourite, '10.00');
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  await expectText(row, /Open .*2\.50 1 10\.00 25\.00 15\.00 0 % of max 1000000\.00 the default/);

  // The trader caps alice's stakes at 20.00: her next bet above it is refused.
  const limits = region(page, 'Bettor limits');
  await limits.getByLabel('Bettor').fill('alice');
  await limits.getByLabel('Max stake').fill('20.00');
  await limits.getByLabel('Reason').fill('New account: a low cap for the first week');
  await limits.getByRole('button', { name: 'Set stake limit' }).click();
  await expectText(limits.getByRole('status'), 'Stake limit of alice set to 20.00.');
  const capped = await bet(alice, favourite, '25.00');
  assert.equal(capped.status, 409, JSON.stringify(capped.body));
  assert.equal(capped.body.type, 'urn:betting:problem:stake-limit');
  assert.equal(capped.body.max_stake, '20.00');
  assert.equal((await bet(alice, favourite, '20.00')).status, 201, 'up to the cap is taken');
  await expectText(row, /Open .*2\.50 2 30\.00 75\.00 45\.00/);

  // A maximum liability on the other event, set in its row; bob's bet
  // then takes most of it.
  const other = exposureRow(page, outsider);
  await other.getByLabel('Max liability').fill('20.00');
  await other.getByRole('button', { name: 'Set limit' }).click();
  await expectText(region(page, 'Exposure').getByRole('status'), `Max liability of event ${outsider} set to 20.00.`);
  await expectText(other, /20\.00 set by a trader/);
  const set = await betMaker('GET', `/admin/events/${outsider}/exposure`, { token: staff });
  assert.equal(set.body.max_liability, '20.00');
  assert.equal(set.body.max_liability_set, true);
  const funded = await betMaker('POST', '/admin/wallets/bob/adjustments', {
    token: staff,
    body: { amount: '50.00', reason: 'Cash paid in at the Station Road desk' },
  });
  assert.equal(funded.status, 201);
  assert.equal((await bet(bob, outsider, '20.00')).status, 201);
  await expectText(other, /1\.80 1 20\.00 36\.00 16\.00 80 % of max, near the limit 20\.00 set by a trader/);
  const beyond = await bet(bob, outsider, '10.00');
  assert.equal(beyond.status, 409);
  assert.equal(beyond.body.type, 'urn:betting:problem:liability-limit');

  // Every staff action, newest first, in the audit log.
  const log = region(page, 'Audit log');
  const entries = (await betMaker('GET', '/admin/audit', { token: staff })).body.items;
  assert.deepEqual(
    entries.map((entry) => [entry.actor, entry.action, entry.subject]),
    [
      ['tess', 'wallet.adjust', 'wallet:bob'],
      ['tess', 'event.limits', `event:${outsider}`],
      ['tess', 'bettor.limits', 'bettor:alice'],
      ['tess', 'wallet.adjust', 'wallet:alice'],
    ],
  );
  await eventually('the audit log listing the four actions', async () => (await log.getByRole('row').count()) === 5);
  const rows = log.getByRole('row');
  await expectText(rows.nth(1), /tess wallet\.adjust wallet:bob Cash paid in at the Station Road desk balance: 0\.00/);
  await expectText(rows.nth(2), /tess event\.limits event:\S+ set by a trader max_liability: none max_liability: 20\.00/);
  await expectText(rows.nth(3), /tess bettor\.limits bettor:alice New account: a low cap for the first week max_stake: none max_stake: 20\.00/);
  await expectText(rows.nth(4), /tess wallet\.adjust wallet:alice Cash paid in at the Main Street desk balance: 0\.00/);

  // The dead-letter queue, as bet-maker last read it: nothing refused.
  const letters = region(page, 'Dead letters');
  await expectText(letters, 'Depth 0 messages');
  await expectText(letters, 'bet-maker has dead-lettered nothing.');

  await region(page, 'Exposure').getByRole('heading', { name: 'Exposure' }).scrollIntoViewIfNeeded();
  await audit(page, 'the back office, signed in as a trader and cashier');
  await screenshot(page, 'back-office');
  assertNoProblems(page);
});
