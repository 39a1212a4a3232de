// The operator console (line-provider `GET /console`) in a real browser,
// against the real services, driven only by the accessible names of SPEC
// "Web": the sign-in, the line's life (create, change, suspend, resume,
// finish, correct, cancel), the API's refusals as the page shows them,
// the keyboard, and the axe audit signed out and signed in.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertNoProblems,
  audit,
  call,
  eventually,
  expectFocused,
  expectHidden,
  expectText,
  expectVisible,
  openPage,
  screenshot,
  servicesAndBrowser,
  shownProblem,
} from './browser.mjs';

const suite = servicesAndBrowser('console');

// --- the API, as the test sees it (to check what the page did) ------------

/** A call to line-provider, as the operator unless `operator: false`. */
function callApi(method, path, { operator = true, ...options } = {}) {
  const { lineProvider, operatorToken } = suite.services;
  return call(lineProvider.url, method, path, { ...options, token: operator ? operatorToken : undefined });
}

async function eventOnApi(id) {
  const { status, body } = await callApi('GET', `/events/${id}`, { operator: false });
  assert.equal(status, 200, `GET /events/${id}`);
  return body;
}

async function createOnApi(coefficient, deadline) {
  const { status, body } = await callApi('POST', '/events', { body: { coefficient, deadline } });
  assert.equal(status, 201, JSON.stringify(body));
  return body;
}

/** An instant a year or so ahead, whole seconds, RFC 3339. */
function nextYear(days = 0) {
  const date = new Date(Date.now() + (400 + days) * 24 * 3600 * 1000);
  date.setUTCMilliseconds(0);
  return date.toISOString().replace('.000Z', 'Z');
}

// --- the page ----------------------------------------------------------------

async function openConsole(t) {
  return openPage(t, suite.browser, `${suite.services.lineProvider.url}/console`);
}

async function signIn(page) {
  await page.getByLabel('Operator token').fill(suite.services.operatorToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectVisible(createForm(page));
}

function createForm(page) {
  return page.getByRole('form', { name: 'New event' });
}

/** The event's labelled group on the page: its controls are scoped to it. */
function eventRow(page, id) {
  return page.getByRole('article', { name: id });
}

/** Creates an event through the New event form; returns its id (from the
 * page's notice) once its row is on the page. */
async function createOnPage(page, coefficient, localDeadline) {
  const form = createForm(page);
  const earlier = await page.getByRole('status').innerText();
  await form.getByLabel('Coefficient').fill(coefficient);
  await form.getByLabel('Deadline').fill(localDeadline);
  await form.getByRole('button', { name: 'Create' }).click();
  const notice = await eventually('the notice of a new event', async () => {
    const text = await page.getByRole('status').innerText();
    return text !== earlier && /Created: event [0-9a-f-]{36}/.test(text) && text;
  });
  const id = /[0-9a-f-]{36}/.exec(notice)[0];
  await expectVisible(eventRow(page, id));
  return id;
}

// --- the tests -------------------------------------------------------------------

test('signed out, the console offers the sign-in only, passes the audit, and shows the refusal of a wrong token', async (t) => {
  const page = await openConsole(t);
  await expectVisible(page.getByLabel('Operator token'));
  assert.equal(await page.getByRole('button', { name: 'Create' }).count(), 0, 'nothing to do before signing in');
  await audit(page, 'the console, signed out');

  await page.getByLabel('Operator token').fill(`${suite.services.operatorToken}-not`);
  await page.getByRole('button', { name: 'Sign in' }).click();

  const refused = await callApi('GET', '/console/operator', { headers: { Authorization: 'Bearer a-wrong-token' }, operator: false });
  assert.equal(refused.status, 401);
  await shownProblem(page, refused.body.title, refused.body.detail);
  assert.equal(await page.getByRole('button', { name: 'Create' }).count(), 0, 'still signed out');
  await audit(page, 'the console, a wrong token refused');
  await screenshot(page, 'console-signed-out');
  assertNoProblems(page);
});

test('by keyboard alone: sign in, create an event, suspend and resume it', async (t) => {
  const page = await openConsole(t);

  await page.keyboard.press('Tab');
  await expectFocused(page.getByLabel('Operator token'));
  await page.keyboard.type(suite.services.operatorToken);
  await page.keyboard.press('Enter');

  // Signed in, the focus goes to the first thing to do: a new event.
  await expectFocused(createForm(page).getByLabel('Coefficient'));
  await page.keyboard.type('2.25');
  await page.keyboard.press('Tab');
  await expectFocused(createForm(page).getByLabel('Deadline'));
  // A datetime-local field, typed part by part (month, day, year; the
  // arrow to the time; hours, minutes, seconds), in the browser's zone
  // (Europe/Paris); Enter submits the form.
  await page.keyboard.type('07152031');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.type('183000');
  await page.keyboard.press('Enter');

  const notice = await expectText(page.getByRole('status'), /Created: event [0-9a-f-]{36}/);
  const id = /[0-9a-f-]{36}/.exec(notice)[0];
  const created = await eventOnApi(id);
  assert.equal(created.coefficient, '2.25');
  assert.equal(created.deadline, '2031-07-15T16:30:00Z', 'typed in Paris summer time');
  const row = eventRow(page, id);
  // The focus is on the new event; its first control is one Tab away.
  await expectFocused(row.getByRole('heading'));
  await page.keyboard.press('Tab');
  await expectFocused(row.getByRole('button', { name: 'Suspend' }));

  await page.keyboard.press('Enter');
  await expectText(row, 'Status: Suspended');
  // The control that took Suspend's place has the focus.
  await expectFocused(row.getByRole('button', { name: 'Resume' }));
  assert.equal((await eventOnApi(id)).status, 'SUSPENDED');

  await page.keyboard.press('Space');
  await expectText(row, 'Status: New');
  await expectFocused(row.getByRole('button', { name: 'Suspend' }));
  const resumed = await eventOnApi(id);
  assert.equal(resumed.status, 'NEW');
  assert.equal(resumed.version, 3);
  assertNoProblems(page);
});

test("an event's life in the console: created, changed, suspended, resumed, finished, corrected with a reason; another cancelled", async (t) => {
  const page = await openConsole(t);
  await signIn(page);

  const id = await createOnPage(page, '1.85', '2031-06-01T12:00:00');
  let event = await eventOnApi(id);
  assert.deepEqual(
    { coefficient: event.coefficient, deadline: event.deadline, status: event.status, version: event.version },
    { coefficient: '1.85', deadline: '2031-06-01T10:00:00Z', status: 'NEW', version: 1 },
  );
  const row = eventRow(page, id);
  await expectText(row, 'Status: New');
  // Shown in the browser's zone: noon in Paris, summer time.
  await expectText(row, /Jun 1, 2031, 12:00:00\sPM GMT\+2/);

  // The coefficient and the deadline, changed in the event's own form.
  await row.getByLabel('Coefficient').fill('2.10');
  await row.getByLabel('Deadline').fill('2031-06-02T20:15:00');
  await row.getByRole('button', { name: 'Save changes' }).click();
  await expectText(row, 'Version 2');
  event = await eventOnApi(id);
  assert.equal(event.coefficient, '2.10');
  assert.equal(event.deadline, '2031-06-02T18:15:00Z');
  await expectText(row, /Jun 2, 2031, 8:15:00\sPM GMT\+2/);

  await row.getByRole('button', { name: 'Suspend' }).click();
  await expectText(row, 'Status: Suspended');
  assert.equal((await eventOnApi(id)).status, 'SUSPENDED');
  await expectHidden(row.getByRole('button', { name: 'Suspend' }));

  await row.getByRole('button', { name: 'Resume' }).click();
  await expectText(row, 'Status: New');
  assert.equal((await eventOnApi(id)).status, 'NEW');

  await row.getByRole('button', { name: 'Finish: win' }).click();
  await expectText(row, 'Status: Finished: win');
  assert.equal((await eventOnApi(id)).status, 'FINISHED_WIN');
  // Final: nothing left to change but by a correction.
  assert.equal(await row.getByRole('button', { name: 'Finish: lose' }).count(), 0);
  assert.equal(await row.getByRole('textbox', { name: 'Coefficient' }).count(), 0);

  await row.getByLabel('Correct to').selectOption({ label: 'Lose' });
  await row.getByLabel('Reason').fill("The referee's report: the goal was offside");
  await row.getByRole('button', { name: 'Correct' }).click();
  await expectText(row, 'Status: Finished: lose');
  event = await eventOnApi(id);
  assert.equal(event.status, 'FINISHED_LOSE');
  assert.equal(event.version, 6, 'created, changed, suspended, resumed, finished, corrected');

  // A correction without a reason is the API's to refuse.
  await row.getByLabel('Correct to').selectOption({ label: 'Win' });
  await row.getByRole('button', { name: 'Correct' }).click();
  const noReason = await callApi('POST', `/events/${id}/corrections`, { body: { status: 'FINISHED_WIN', reason: '' } });
  assert.equal(noReason.status, 422);
  await shownProblem(page, noReason.body.title, noReason.body.errors[0].message);
  assert.equal((await eventOnApi(id)).status, 'FINISHED_LOSE', 'nothing corrected');

  const other = await createOnPage(page, '3.40', '2031-08-20T21:00:00');
  await eventRow(page, other).getByRole('button', { name: 'Cancel' }).click();
  await expectText(eventRow(page, other), 'Status: Cancelled');
  assert.equal((await eventOnApi(other)).status, 'CANCELLED');

  // One more of each open kind, for the picture of a line in every status.
  const open = await createOnPage(page, '1.55', '2031-09-05T19:45:00');
  const paused = await createOnPage(page, '4.75', '2031-09-12T17:00:00');
  await eventRow(page, paused).getByRole('button', { name: 'Suspend' }).click();
  await expectText(eventRow(page, paused), 'Status: Suspended');
  await expectText(eventRow(page, open), 'Status: New');

  await page.getByRole('heading', { name: 'New event' }).scrollIntoViewIfNeeded();
  await audit(page, 'the console, signed in, a line of every status');
  await screenshot(page, 'console');
  assertNoProblems(page);
});

test("the API's refusals of invalid input are shown as its problem documents say them", async (t) => {
  const page = await openConsole(t);
  await signIn(page);
  const form = createForm(page);

  await form.getByLabel('Coefficient').fill('0.5');
  await form.getByLabel('Deadline').fill('2031-06-01T12:00:00');
  await form.getByRole('button', { name: 'Create' }).click();
  const lowCoefficient = await callApi('POST', '/events', { body: { coefficient: '0.5', deadline: '2031-06-01T10:00:00Z' } });
  assert.equal(lowCoefficient.status, 422);
  await shownProblem(page, lowCoefficient.body.title, lowCoefficient.body.detail);

  await form.getByLabel('Coefficient').fill('1.50');
  await form.getByLabel('Deadline').fill('2020-01-01T12:00:00');
  await form.getByRole('button', { name: 'Create' }).click();
  const pastDeadline = await callApi('POST', '/events', { body: { coefficient: '1.50', deadline: '2020-01-01T11:00:00Z' } });
  assert.equal(pastDeadline.status, 422);
  const shown = await shownProblem(page, pastDeadline.body.title, pastDeadline.body.detail);
  assert.doesNotMatch(shown, /coefficient/, `only the deadline is wrong: ${shown}`);

  // Both at once: every invalid field named, not only the first.
  await form.getByLabel('Coefficient').fill('1000.01');
  await form.getByRole('button', { name: 'Create' }).click();
  const both = await callApi('POST', '/events', { body: { coefficient: '1000.01', deadline: '2020-01-01T11:00:00Z' } });
  assert.equal(both.body.errors.length, 2);
  await shownProblem(page, both.body.detail, ...both.body.errors.map((error) => error.message));

  const { items } = (await callApi('GET', '/events?limit=500', { operator: false })).body;
  assert.ok(
    !items.some((event) => ['0.50', '1000.01'].includes(event.coefficient) || event.deadline.startsWith('2020')),
    'nothing refused was created',
  );

  // A wrong coefficient on an existing event: the change is refused whole.
  const id = (await createOnApi('1.90', nextYear())).id;
  const row = eventRow(page, id);
  await expectVisible(row);
  await row.getByLabel('Coefficient').fill('1');
  await row.getByRole('button', { name: 'Save changes' }).click();
  const tooLow = await callApi('PATCH', `/events/${id}`, { body: { coefficient: '1' } });
  assert.equal(tooLow.status, 422);
  await shownProblem(page, tooLow.body.title, tooLow.body.detail);
  assert.equal((await eventOnApi(id)).coefficient, '1.90');
  await audit(page, 'the console, showing a refusal');
  assertNoProblems(page);
});

test('the line is live, and a change someone else made first is refused (412), not overwritten', async (t) => {
  const page = await openConsole(t);
  await signIn(page);
  const id = (await createOnApi('1.70', nextYear(10))).id;
  const row = eventRow(page, id);
  // Made elsewhere, on the page within a refresh.
  await expectVisible(row);
  await expectText(row, 'Version 1');

  // The operator starts changing the coefficient; meanwhile someone
  // else changes it, and the page shows their change as it comes.
  await row.getByLabel('Coefficient').fill('2.50');
  const elsewhere = await callApi('PATCH', `/events/${id}`, { body: { coefficient: '3.00' }, headers: { 'If-Match': '"1"' } });
  assert.equal(elsewhere.status, 200);
  await expectText(row, 'Version 2');
  await expectText(row, '3.00');

  await row.getByRole('button', { name: 'Save changes' }).click();
  const stale = await callApi('PATCH', `/events/${id}`, { body: { coefficient: '2.50' }, headers: { 'If-Match': '"1"' } });
  assert.equal(stale.status, 412);
  await shownProblem(page, stale.body.title, stale.body.detail);
  assert.equal((await eventOnApi(id)).coefficient, '3.00', 'the other change stands');

  // Having seen it, the operator saves again: now from version 2.
  assert.equal(await row.getByLabel('Coefficient').inputValue(), '2.50', 'what was typed is kept');
  await row.getByRole('button', { name: 'Save changes' }).click();
  await expectText(row, 'Version 3');
  const saved = await eventOnApi(id);
  assert.equal(saved.coefficient, '2.50');
  await eventually('the alert cleared', async () => (await page.getByRole('alert').innerText()).trim() === '');
  assertNoProblems(page);
});
