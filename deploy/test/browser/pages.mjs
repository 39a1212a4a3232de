// The pages people open, tested in a real browser (Debian's chromium driven
// by playwright-core): both Swagger UIs, the web pages, RabbitMQ's admin panel and
// Prometheus's graph page. Run from the repository's root:
//
//   node deploy/test/browser/pages.mjs        (or deploy/test/browser/run.sh)
//
// Configured only by environment variables:
//
//   LINE_PROVIDER_URL           line-provider's base URL; Swagger UI at /docs
//                               (default http://127.0.0.1:8100)
//   LINE_PROVIDER_ADMIN_TOKEN   the operator token (required)
//   BET_MAKER_URL               bet-maker's base URL; Swagger UI at /docs
//                               (default http://127.0.0.1:8080)
//   BET_MAKER_BETTOR_TOKEN      a bettor's JWT, e.g. `bet-maker token alice` (required);
//                               a bettor nobody else moves money for during the run,
//                               since the balance is checked to the cent (any balance
//                               before is fine: it is read first)
//   BET_MAKER_QUEUE             bet-maker's queue; its dead-letter queue is <queue>.dlq
//                               (default bet-maker.line-events)
//   RABBITMQ_ADMIN_URL          RabbitMQ's management UI (default http://127.0.0.1:15672)
//   RABBITMQ_USER, RABBITMQ_PASSWORD
//                               who logs into it (default guest / guest); the user
//                               needs a management tag and access to the queues' vhost
//   PROMETHEUS_URL              Prometheus (default http://127.0.0.1:9090); it must
//                               scrape bet-maker
//   PROMETHEUS_QUERY            the query for bets placed (default bets_placed_total,
//                               the counter on bet-maker's /metrics); every series
//                               shown must be a number, and together at least 1
//   SCREENSHOT_DIR              where the screenshots go, relative to the working
//                               directory (default target/browser-screenshots)
//   CHROMIUM_PATH               the browser (default /usr/bin/chromium)
//   STEP_TIMEOUT_MS             the most one step may take (default 60000)
//   ACTION_TIMEOUT_MS           the most one click, fill or wait may take (default 15000)
//
// Each step is checked, screenshotted into SCREENSHOT_DIR (NN-name.png), and
// timed. The first failure stops the run: its page is screenshotted as
// NN-name-FAILED.png, the step and the reason are printed, and the exit
// status is 1 (2 for a bad setting). The last line is "N passed, N failed".
//
// What it does, as a person would:
//  1. line-provider's Swagger UI: Authorize with the operator token, Try it
//     out on POST /events, Execute: 201 and the event, as sent.
//  2. bet-maker's Swagger UI: Authorize with the bettor's token; GET /wallet
//     (the balance before), POST /wallet/deposits (202, pending until the
//     deployment's sandbox payment provider confirms it), POST /bets on the event
//     of step 1 (once bet-maker has heard of it through RabbitMQ), GET
//     /wallet again: every status, and every amount to the cent.
//  3. The web pages, through the same addresses: the bettor app signed in
//     with the bettor's token shows the bet of step 2 in My bets; the
//     operator console signed in with the operator token shows the event of
//     step 1; the back office shows its staff sign-in.
//  4. RabbitMQ's admin panel: log in, Queues, filter on bet-maker's queue:
//     it and its dead-letter queue are listed.
//  5. Prometheus's graph page: the query, the table view ("Console" in the
//     classic UI that Debian's package serves at /classic/graph, "Table" in
//     the React UI of the official builds), Execute: a series with at least
//     one bet placed (executed again until a scrape has seen the bet of
//     step 2, within the step's time). Only the classic UI could be tried
//     on the machine this was written on.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

// ---------------------------------------------------------------- settings

const env = (name, fallback) => {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
};
const trimSlash = (url) => url.replace(/\/+$/, '');

const settings = {
  lineProviderUrl: trimSlash(env('LINE_PROVIDER_URL', 'http://127.0.0.1:8100')),
  adminToken: env('LINE_PROVIDER_ADMIN_TOKEN'),
  betMakerUrl: trimSlash(env('BET_MAKER_URL', 'http://127.0.0.1:8080')),
  bettorToken: env('BET_MAKER_BETTOR_TOKEN'),
  queue: env('BET_MAKER_QUEUE', 'bet-maker.line-events'),
  rabbitUrl: trimSlash(env('RABBITMQ_ADMIN_URL', 'http://127.0.0.1:15672')),
  rabbitUser: env('RABBITMQ_USER', 'guest'),
  rabbitPassword: env('RABBITMQ_PASSWORD', 'guest'),
  prometheusUrl: trimSlash(env('PROMETHEUS_URL', 'http://127.0.0.1:9090')),
  prometheusQuery: env('PROMETHEUS_QUERY', 'bets_placed_total'),
  screenshotDir: path.resolve(env('SCREENSHOT_DIR', 'target/browser-screenshots')),
  chromium: env('CHROMIUM_PATH', '/usr/bin/chromium'),
  stepTimeoutMs: Number(env('STEP_TIMEOUT_MS', '60000')),
  actionTimeoutMs: Number(env('ACTION_TIMEOUT_MS', '15000')),
};

function badSetting(message) {
  console.log(`browser tests: ${message}`);
  process.exit(2);
}
if (!settings.adminToken) badSetting('LINE_PROVIDER_ADMIN_TOKEN is not set (the operator token)');
if (!settings.bettorToken) {
  badSetting('BET_MAKER_BETTOR_TOKEN is not set (a bettor JWT: `bet-maker token <bettor>`)');
}
for (const name of ['stepTimeoutMs', 'actionTimeoutMs']) {
  if (!(settings[name] > 0)) badSetting(`${name === 'stepTimeoutMs' ? 'STEP' : 'ACTION'}_TIMEOUT_MS must be a positive number of milliseconds`);
}
if (!fs.existsSync(settings.chromium)) {
  badSetting(`no browser at ${settings.chromium} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

// ------------------------------------------------------------- the checks

/** A failed check: what was expected, and what the page showed. */
class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function checkEqual(actual, expected, what) {
  check(actual === expected, `${what}: expected ${JSON.stringify(expected)}, the page shows ${JSON.stringify(actual)}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** "12.50" → 1250n; exact, two decimals at most, as the APIs write money. */
function cents(text, what) {
  const match = typeof text === 'string' && /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  check(match, `${what}: expected a decimal string such as "10.00", the page shows ${JSON.stringify(text)}`);
  const value = BigInt(match[2]) * 100n + BigInt((match[3] ?? '').padEnd(2, '0'));
  return match[1] ? -value : value;
}

/** 1250n → "12.50" */
function money(value) {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

// ---------------------------------------------------------- Swagger UI

/** Authorize, in the dialog behind Swagger UI's Authorize button, with a bearer token. */
async function swaggerAuthorize(page, schemeName, token) {
  await page.locator('.swagger-ui .auth-wrapper button.authorize').click();
  const dialog = page.locator('.swagger-ui .modal-ux');
  await dialog.waitFor();
  const scheme = dialog.locator('.auth-container', { has: page.locator('h4', { hasText: schemeName }) });
  check(await scheme.count() === 1, `the Authorize dialog has no scheme named ${schemeName}`);
  await scheme.locator('input').fill(token);
  await scheme.locator('button.authorize').click();
  // Authorized: the dialog says so and offers Logout instead of the input.
  await scheme.locator('button', { hasText: 'Logout' }).waitFor();
  await scheme.locator('h6', { hasText: 'Authorized' }).waitFor();
  // Each scheme has its own Close button (bet-maker's dialog also holds
  // the payment provider's signature): close from the one just used.
  await scheme.locator('button.btn-done').click();
  await dialog.waitFor({ state: 'detached' });
  await page.locator('.swagger-ui .auth-wrapper button.authorize.locked').waitFor();
}

/** The operation block of METHOD PATH, expanded, with Try it out pressed. */
async function swaggerOperation(page, method, apiPath) {
  const block = page.locator(`.swagger-ui .opblock.opblock-${method.toLowerCase()}`, {
    has: page.locator(`.opblock-summary-path[data-path="${apiPath}"]`),
  });
  check(await block.count() === 1, `Swagger UI shows no operation ${method} ${apiPath}`);
  if (!(await block.evaluate((el) => el.classList.contains('is-open')))) {
    await block.locator('.opblock-summary').first().click();
  }
  await block.locator('button.try-out__btn', { hasText: 'Try it out' }).click();
  await block.locator('button.execute').waitFor();
  return block;
}

/**
 * Execute the operation and read the response Swagger UI shows: its status
 * (the live response's status cell) and its body (the JSON shown under
 * "Response body"). Clears an earlier response first, so it is never read
 * twice.
 */
async function swaggerExecute(block) {
  const clear = block.locator('button.btn-clear');
  if (await clear.count()) await clear.click();
  await block.locator('.live-responses-table').waitFor({ state: 'detached' });
  await block.locator('button.execute').click();
  const response = block.locator('.live-responses-table tr.response');
  await response.waitFor();
  const status = (await response.locator('.response-col_status').innerText()).trim();
  const bodyText = (await response.locator('.response-col_description pre').first().innerText()).trim();
  let body;
  try {
    body = JSON.parse(bodyText);
  } catch {
    throw new CheckFailed(`the response body shown is not JSON (status ${status}): ${bodyText.slice(0, 300)}`);
  }
  return { status, body };
}

function checkStatus(shown, expected, what) {
  check(shown.status === String(expected),
    `${what}: expected status ${expected}, the page shows ${shown.status}: ${JSON.stringify(shown.body).slice(0, 400)}`);
}

async function fillBody(block, body) {
  await block.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2));
}

async function fillHeader(block, name, value) {
  await block.locator(`tr[data-param-name="${name}"][data-param-in="header"] input`).fill(value);
}

/** Scrolls the operation's last response into view, with the curl command above it. */
async function showResponse(block) {
  await block.locator('.live-responses-table').evaluate((el) => el.scrollIntoView({ block: 'end' }));
}

async function openSwagger(page, baseUrl, title) {
  await page.goto(`${baseUrl}/docs/`);
  const heading = page.locator('.swagger-ui .info .title');
  await heading.waitFor();
  const shown = (await heading.innerText()).trim();
  check(shown.startsWith(title), `${baseUrl}/docs/ shows the API "${shown}", not ${title}`);
  await page.locator('.swagger-ui .opblock').first().waitFor();
}

// --------------------------------------------------------------- the run

const runId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const state = {}; // what one step hands the next: the event, the bet

const steps = [
  {
    name: 'line-provider-swagger',
    title: "line-provider's Swagger UI: Authorize as operator, create an event",
    async run(page) {
      await openSwagger(page, settings.lineProviderUrl, 'line-provider');
      await swaggerAuthorize(page, 'operator_token', settings.adminToken);
      const create = await swaggerOperation(page, 'POST', '/events');
      // A deadline a day ahead, to the second, as the API writes it back.
      const deadline = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000)
        .toISOString().replace('.000Z', 'Z');
      const request = { coefficient: '1.85', deadline };
      await fillBody(create, request);
      const shown = await swaggerExecute(create);
      checkStatus(shown, 201, 'POST /events');
      const event = shown.body;
      check(UUID.test(event.id ?? ''), `POST /events: the event's id is not a UUID: ${JSON.stringify(event.id)}`);
      checkEqual(event.coefficient, request.coefficient, "POST /events: the event's coefficient");
      checkEqual(event.deadline, request.deadline, "POST /events: the event's deadline");
      checkEqual(event.status, 'NEW', "POST /events: the event's status");
      checkEqual(event.version, 1, "POST /events: the event's version");
      state.event = event;
      await showResponse(create);
      return `event ${event.id} at ${event.coefficient}`;
    },
  },
  {
    name: 'bet-maker-swagger',
    title: "bet-maker's Swagger UI: Authorize as bettor, deposit, bet on the event",
    async run(page, { shot }) {
      check(state.event, 'no event: the line-provider step did not create one');
      const event = state.event;
      await openSwagger(page, settings.betMakerUrl, 'bet-maker');
      await swaggerAuthorize(page, 'bettor_token', settings.bettorToken);

      const wallet = await swaggerOperation(page, 'GET', '/wallet');
      const before = await swaggerExecute(wallet);
      checkStatus(before, 200, 'GET /wallet (before)');
      const balanceBefore = cents(before.body.balance, 'GET /wallet (before): balance');

      const deposit = await swaggerOperation(page, 'POST', '/wallet/deposits');
      const depositAmount = '100.00';
      await fillHeader(deposit, 'Idempotency-Key', `browser-${runId}-deposit`);
      await fillBody(deposit, { amount: depositAmount });
      const deposited = await swaggerExecute(deposit);
      checkStatus(deposited, 202, 'POST /wallet/deposits');
      checkEqual(deposited.body.status, 'PENDING', 'POST /wallet/deposits: status');
      checkEqual(deposited.body.amount, depositAmount, 'POST /wallet/deposits: amount');
      check(UUID.test(deposited.body.id ?? ''),
        `POST /wallet/deposits: the deposit's id is not a UUID: ${JSON.stringify(deposited.body.id)}`);
      await showResponse(deposit);
      await shot('deposit');
      // The money is in the wallet once the payment provider (the
      // deployment's sandbox, a moment later) has confirmed the deposit.
      await waitForDeposit(deposited.body.id, depositAmount);
      const afterDeposit = balanceBefore + cents(depositAmount, 'deposit');

      // bet-maker hears of the event through RabbitMQ: until it has, a bet
      // on it is 404. Waiting for it is part of the step, within its time.
      await waitForOpenEvent(event.id);

      const bets = await swaggerOperation(page, 'POST', '/bets');
      const stake = '12.50';
      await fillHeader(bets, 'Idempotency-Key', `browser-${runId}-bet`);
      await fillBody(bets, { event_id: event.id, amount: stake, coefficient: event.coefficient });
      const placed = await swaggerExecute(bets);
      checkStatus(placed, 201, 'POST /bets');
      const bet = placed.body;
      check(UUID.test(bet.id ?? ''), `POST /bets: the bet's id is not a UUID: ${JSON.stringify(bet.id)}`);
      checkEqual(bet.event_id, event.id, 'POST /bets: event_id');
      checkEqual(bet.amount, stake, 'POST /bets: amount');
      checkEqual(bet.coefficient, event.coefficient, 'POST /bets: coefficient (locked odds)');
      checkEqual(bet.status, 'PENDING', 'POST /bets: status');
      state.bet = bet;
      await showResponse(bets);
      await shot('bet');

      const after = await swaggerExecute(wallet);
      checkStatus(after, 200, 'GET /wallet (after)');
      checkEqual(after.body.balance, money(afterDeposit - cents(stake, 'stake')),
        'GET /wallet (after the deposit and the bet): balance');
      checkEqual(after.body.currency, before.body.currency, 'GET /wallet: currency');
      await showResponse(wallet);
      return `balance ${money(balanceBefore)} + ${depositAmount} - ${stake} = ${after.body.balance} ${after.body.currency}; bet ${bet.id}`;
    },
  },
  {
    name: 'web-pages',
    title: 'The web pages through the load balancer: the bettor app, the operator console, the back office',
    async run(page, { shot }) {
      check(state.event && state.bet, 'no event or bet: the Swagger UI steps did not make them');
      const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      // The bettor app: the deployment has no development sign-in, so the
      // page asks for a token from the identity provider.
      await page.goto(`${settings.betMakerUrl}/`);
      await page.getByLabel('Token', { exact: true }).fill(settings.bettorToken);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const myBets = page.getByRole('region', { name: 'My bets' });
      await myBets.getByText(new RegExp(escape(state.bet.id.slice(-8)))).first().waitFor();
      await shot('bettor-app');
      // The operator console: the event of the first step, in the line.
      await page.goto(`${settings.lineProviderUrl}/console`);
      await page.getByLabel('Operator token').fill(settings.adminToken);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('article', { name: new RegExp(escape(state.event.id)) }).waitFor();
      await shot('console');
      // The back office: its staff sign-in (a staff token is the
      // deployment's to issue: `bet-maker token NAME --scope trader`).
      await page.goto(`${settings.betMakerUrl}/admin`);
      await page.getByLabel('Staff token').waitFor();
      return `bet ${state.bet.id} in the bettor app, event ${state.event.id} in the console, the back office's sign-in`;
    },
  },
  {
    name: 'rabbitmq-queues',
    title: "RabbitMQ's admin panel: log in, Queues lists bet-maker's queue and its DLQ",
    async run(page) {
      await page.goto(`${settings.rabbitUrl}/`);
      await page.locator('input[name="username"]').fill(settings.rabbitUser);
      await page.locator('input[name="password"]').fill(settings.rabbitPassword);
      await page.locator('#login input[type="submit"], #login button[type="submit"]').first().click();
      // Logged in: the header names the user; a refusal shows the form again with a message.
      const loggedIn = page.locator('#logout', { hasText: settings.rabbitUser });
      const refused = page.locator('#login-status', { hasText: /\S/ });
      await Promise.race([loggedIn.waitFor(), refused.first().waitFor().then(async () => {
        throw new CheckFailed(`RabbitMQ refused the login of ${settings.rabbitUser}: ${(await refused.innerText()).trim()}`);
      })]);
      // The tab is "Queues" (3.x) or "Queues and Streams" (4.x).
      await page.locator('#tabs a[href="#/queues"]').click();
      await page.waitForURL(/#\/queues$/);
      const filter = page.locator('input#queues-name');
      await filter.fill(settings.queue);
      await filter.press('Enter');
      const dlq = `${settings.queue}.dlq`;
      const rows = page.locator('table.list tbody tr');
      await page.locator('table.list').first().waitFor();
      const listed = async () => (await rows.locator('td a[href^="#/queues/"]').allInnerTexts()).map((t) => t.trim());
      for (const name of [settings.queue, dlq]) {
        const link = rows.locator(`td a[href$="/${encodeURIComponent(name)}"]`, { hasText: name });
        try {
          await link.first().waitFor();
        } catch {
          throw new CheckFailed(`Queues (filtered on ${settings.queue}) does not list ${name}; it lists ${JSON.stringify(await listed())}`);
        }
        checkEqual((await link.first().innerText()).trim(), name, 'the queue listed');
      }
      return `queues ${settings.queue} and ${dlq} listed`;
    },
  },
  {
    name: 'prometheus-graph',
    title: `Prometheus's graph page: ${settings.prometheusQuery} shows the bets placed`,
    async run(page, { deadline }) {
      check(state.bet, 'no bet: the bet-maker step did not place one');
      const ui = await openPrometheusGraph(page);
      // Prometheus sees the bet at its next scrape of bet-maker: execute until
      // the table shows it, within the step's time. Each try waits for the
      // query's own answer; the pause between tries is for a scrape to come.
      let last = 'nothing yet';
      for (let attempt = 1; ; attempt++) {
        const answered = page.waitForResponse((r) => r.url().includes('/api/v1/query'));
        await ui.execute.click();
        const response = await answered;
        check(response.ok(), `Prometheus answered the query with ${response.status()}`);
        await Promise.race([ui.rows.first().waitFor(), ui.empty.first().waitFor()]);
        const series = [];
        for (const row of await ui.rows.all()) {
          const cells = (await row.locator('td').allInnerTexts()).map((t) => t.trim());
          if (cells.length >= 2) series.push({ labels: cells[0], value: cells[cells.length - 1] });
        }
        if (series.length > 0) {
          for (const s of series) {
            check(/^\d+(\.\d+)?(e[+-]?\d+)?$/.test(s.value),
              `the series ${s.labels} shows the value ${JSON.stringify(s.value)}, not a number`);
            if (isMetricName(settings.prometheusQuery)) {
              check(s.labels.startsWith(settings.prometheusQuery),
                `the table shows the series ${s.labels}, not one of ${settings.prometheusQuery}`);
            }
          }
          const total = series.reduce((sum, s) => sum + Number(s.value), 0);
          if (total >= 1) {
            return `${ui.name}; ${series.length} series, ${total} bet(s) placed: `
              + series.map((s) => `${s.labels} ${s.value}`).join('; ');
          }
          last = `${series.length} series adding up to ${total}`;
        } else {
          last = 'an empty query result';
        }
        if (Date.now() + 2000 > deadline) {
          throw new CheckFailed(`${settings.prometheusQuery} shows ${last} after ${attempt} tries: does Prometheus scrape bet-maker?`);
        }
        await page.waitForTimeout(1000);
      }
    },
  },
];

function isMetricName(query) {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(query);
}

/**
 * Opens the graph page, types the query and picks the table view. Two UIs:
 * the classic one (Debian's package serves only it, at /classic/graph, with
 * its table under "Console") and the React one of the official builds (at
 * /graph, with a "Table" tab; 3.x redirects /graph to /query). Returns the
 * Execute button, the result table's rows and the "nothing found" marker.
 */
async function openPrometheusGraph(page) {
  const response = await page.goto(`${settings.prometheusUrl}/graph`);
  if (response?.status() === 404) await page.goto(`${settings.prometheusUrl}/classic/graph`);
  const classicInput = page.locator('textarea.expression_input').first();
  const reactInput = page.locator('.cm-content[contenteditable="true"]').first();
  await classicInput.or(reactInput).waitFor();
  if (await classicInput.isVisible()) {
    await classicInput.fill(settings.prometheusQuery);
    checkEqual(await classicInput.inputValue(), settings.prometheusQuery, 'the expression field');
    await page.locator('.graph_wrapper a.nav-link', { hasText: /^Console$/ }).first().click();
    const table = page.locator('.graph_wrapper table.console_table').first();
    await table.waitFor();
    return {
      name: 'classic UI',
      execute: page.locator('.graph_wrapper input.execute_btn').first(),
      rows: table.locator('tbody tr'),
      empty: table.locator('tbody td', { hasText: /^no data$/ }),
    };
  }
  // The React UI (not available on this machine's Debian package: written
  // for the official images, by the texts a person sees).
  await reactInput.click();
  await page.keyboard.insertText(settings.prometheusQuery);
  checkEqual((await reactInput.innerText()).trim(), settings.prometheusQuery, 'the expression field');
  await page.locator('a.nav-link, [role="tab"]', { hasText: /^Table$/ }).first().click();
  return {
    name: 'React UI',
    execute: page.locator('button', { hasText: /^Execute$/ }).first(),
    rows: page.locator('table tbody tr'),
    empty: page.getByText(/Empty query result|No data queried yet|no data/i),
  };
}

/** Waits until bet-maker's GET /events offers the event (it heard of it through RabbitMQ). */
async function waitForOpenEvent(id) {
  for (;;) {
    let cursor = null;
    do {
      const url = new URL(`${settings.betMakerUrl}/events`);
      url.searchParams.set('limit', '500');
      if (cursor) url.searchParams.set('cursor', cursor);
      const response = await fetch(url, { signal: AbortSignal.timeout(settings.actionTimeoutMs) });
      check(response.ok, `bet-maker's GET /events answered ${response.status}`);
      const page = await response.json();
      if (page.items.some((e) => e.id === id)) return;
      cursor = page.next_cursor;
    } while (cursor);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How long a deposit may stay PENDING: the sandbox confirms it within a fraction of a second. */
const DEPOSIT_CONFIRMATION_MS = 30_000;

/** Waits until bet-maker's GET /wallet/deposits/{id} says SUCCEEDED (the provider confirmed it). */
async function waitForDeposit(id, amount) {
  const deadline = Date.now() + DEPOSIT_CONFIRMATION_MS;
  for (;;) {
    const response = await fetch(`${settings.betMakerUrl}/wallet/deposits/${id}`, {
      headers: { authorization: `Bearer ${settings.bettorToken}` },
      signal: AbortSignal.timeout(settings.actionTimeoutMs),
    });
    check(response.ok, `bet-maker's GET /wallet/deposits/${id} answered ${response.status}`);
    const deposit = await response.json();
    if (deposit.status === 'SUCCEEDED') {
      checkEqual(deposit.amount, amount, `GET /wallet/deposits/${id}: amount`);
      return;
    }
    check(deposit.status === 'PENDING', `GET /wallet/deposits/${id}: the deposit is ${JSON.stringify(deposit)}`);
    check(Date.now() < deadline,
      `the deposit ${id} is still PENDING ${DEPOSIT_CONFIRMATION_MS / 1000} s after it was asked for ` +
      '(is BET_MAKER_PAYMENTS_PROVIDER=sandbox? see the bet-maker replicas\' logs)');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ------------------------------------------------------------ the runner

/** A file's path as printed: relative to the working directory when inside it. */
function displayPath(file) {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') ? file : relative;
}

function firstLines(error) {
  if (error instanceof CheckFailed) return error.message;
  // Playwright's messages carry a call log after the first lines.
  return String(error?.message ?? error).replace(/\u001b\[[0-9;]*m/g, '').split('\n').slice(0, 3)
    .map((line) => line.trim()).join(' ');
}

async function main() {
  fs.mkdirSync(settings.screenshotDir, { recursive: true });
  for (const file of fs.readdirSync(settings.screenshotDir)) {
    if (/^\d\d-.*\.png$/.test(file)) fs.rmSync(path.join(settings.screenshotDir, file));
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-tests-'));
  const started = Date.now();
  let context;
  let passed = 0;
  let failed = 0;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: settings.chromium,
      headless: true,
      // As ../shared/STACK.md says: without the networking flags chromium
      // keeps trying to reach hosts this machine cannot reach.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1366, height: 1000 },
      // RabbitMQ's API answers a refused login with a Basic challenge, and
      // headless chromium would wait forever on its prompt. Answering it with
      // a user that does not exist makes the browser give up on it at once
      // (the form's own login is the only one that can succeed), so a
      // refusal shows as the form's "Login failed".
      httpCredentials: { username: 'browser-tests-no-such-user', password: 'none', origin: new URL(settings.rabbitUrl).origin },
      timeout: settings.actionTimeoutMs * 2,
    });
    for (const [index, step] of steps.entries()) {
      const number = String(index + 1).padStart(2, '0');
      const page = await context.newPage();
      page.setDefaultTimeout(settings.actionTimeoutMs);
      page.setDefaultNavigationTimeout(settings.actionTimeoutMs);
      const problems = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      const stepStarted = Date.now();
      const deadline = stepStarted + settings.stepTimeoutMs;
      const shots = [];
      // A screenshot within a step, before its last: NN-name-label.png.
      const shot = async (label) => {
        const file = path.join(settings.screenshotDir, `${number}-${step.name}-${label}.png`);
        await page.screenshot({ path: file });
        shots.push(file);
      };
      let timer;
      try {
        const outcome = await Promise.race([
          step.run(page, { deadline, shot }),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new CheckFailed(`took longer than STEP_TIMEOUT_MS (${settings.stepTimeoutMs} ms)`)),
              settings.stepTimeoutMs);
          }),
        ]);
        clearTimeout(timer);
        const file = path.join(settings.screenshotDir, `${number}-${step.name}.png`);
        await page.screenshot({ path: file });
        shots.push(file);
        passed++;
        console.log(`ok   ${number} ${step.title} (${((Date.now() - stepStarted) / 1000).toFixed(1)} s): ${outcome}`);
        console.log(`     screenshots ${shots.map(displayPath).join(', ')}`);
      } catch (error) {
        clearTimeout(timer);
        failed++;
        const file = path.join(settings.screenshotDir, `${number}-${step.name}-FAILED.png`);
        let shot = `screenshot ${displayPath(file)}`;
        try {
          await page.screenshot({ path: file, timeout: 10_000 });
        } catch (screenshotError) {
          shot = `no screenshot: ${firstLines(screenshotError)}`;
        }
        console.log(`FAIL ${number} ${step.title} (${((Date.now() - stepStarted) / 1000).toFixed(1)} s)`);
        console.log(`     ${firstLines(error)}`);
        console.log(`     at ${page.url()}`);
        for (const problem of problems.slice(0, 5)) console.log(`     ${problem}`);
        console.log(`     ${shot}`);
        break;
      } finally {
        await page.close().catch(() => {});
      }
    }
  } catch (error) {
    failed++;
    console.log(`FAIL launching ${settings.chromium}: ${firstLines(error)}`);
  } finally {
    await context?.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  console.log(`browser tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed === steps.length ? 0 : 1);
}

await main();
