// Debian's chromium, driven by playwright-core, as STACK.md says (never a
// browser Playwright downloads), with what every page test needs:
//
// - `openPage(t, browser, url)`: a page in a fresh context (closed when the
//   test ends) that records every console error, uncaught exception,
//   Content-Security-Policy violation and failed load;
//   `assertNoProblems(page)` fails the test if there was any (the API's
//   own refusals, which the page shows, are not failures);
// - `audit(page, label)`: axe-core in the page, failing on any serious or
//   critical violation with a readable list. Its source is evaluated
//   through the DevTools protocol (`page.evaluate`), so the page's CSP
//   stays in force for everything else: no `bypassCSP`;
// - `screenshot(page, name)`: `target/browser/<name>.png`;
// - `eventually(what, check)` and a few assertions on locators, since
//   playwright-core has no `expect`; `region(page, name)`, and
//   `shownProblem(scope, ...parts)` for a refusal the page shows;
// - `servicesAndBrowser(label)`: the services and the browser a test
//   file shares, started before its first test and stopped after its last;
// - `call(base, method, path, ...)` and `openEvent(services, coefficient)`:
//   the APIs as a test sees them, to arrange and to check what a page did.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before } from 'node:test';

import { chromium } from 'playwright-core';

import { TARGET, startServices } from './harness.mjs';

/** The browser: Debian's (`apt-get install chromium`), or `$CHROMIUM`. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** Where screenshots go. */
export const SCREENSHOTS = path.join(TARGET, 'browser');
/** How long a page may take to show something. */
export const PAGE_PATIENCE_MS = 10_000;

/** As root on a machine that reaches no host but its registries:
 * no sandbox, no GPU, and none of the background traffic to Google's
 * hosts that would fail here (STACK.md, "A real browser"). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Launches chromium. playwright-core gives every launch a fresh, empty
 * user-data-dir of its own (and deletes it on close).
 */
export async function launchBrowser() {
  // The browser's own language sets the order of a date field's parts
  // (month/day/year here), which a test typing a date relies on.
  const env = { ...process.env, LANG: 'en_US.UTF-8', LANGUAGE: 'en_US' };
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, env });
}

/**
 * The services and the browser the tests of a file share: started before
 * its first test (`startServices(label, options)`, then the browser, then
 * `prepare(services)` if given, in the same hook), stopped after its last.
 * Their `services` and `browser` are there once the tests run.
 *
 * @param {string} label as `startServices` takes it
 * @param {{prepare?: (services: object) => Promise<void>, betMakerEnv?: Record<string, string>}} [options]
 *   and the options of `startServices`
 */
export function servicesAndBrowser(label, { prepare, ...options } = {}) {
  const suite = { services: undefined, browser: undefined };
  before(async () => {
    suite.services = await startServices(label, options);
    suite.browser = await launchBrowser();
    await prepare?.(suite.services);
  });
  after(async () => {
    await suite.browser?.close();
    await suite.services?.stop();
  });
  return suite;
}

/** What went wrong on each page, by page. */
const problemsOf = new WeakMap();

/**
 * Opens `url` in a fresh context (no storage shared with other tests) at
 * 1280x800, in Paris (so that a time zone other than the machine's is
 * always in play), in American English like the browser's own date
 * fields, watching for errors. The context
 * is closed when the test `t` ends, passed or not.
 *
 * @param {import('node:test').TestContext} t
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {{timezoneId?: string, locale?: string}} [options]
 */
export async function openPage(t, browser, url, { timezoneId = 'Europe/Paris', locale = 'en-US' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId, locale });
  t.after(() => context.close());
  const problems = [];
  await context.exposeBinding('__reportCspViolation', (_source, violation) => {
    problems.push(`CSP violation: ${violation}`);
  });
  // Run before the page's own scripts; not subject to its CSP (it is the
  // browser's instrument), and it changes nothing the page may do.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__reportCspViolation(
        `${event.violatedDirective} refused ${event.blockedURI || 'inline code'} (${event.sourceFile || 'the page'}:${event.lineNumber})`,
      );
    });
  });
  const page = await context.newPage();
  problemsOf.set(page, problems);
  page.setDefaultTimeout(PAGE_PATIENCE_MS);
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.stack || error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // The browser logs every 4xx answer to a fetch; the page shows those
    // refusals itself, and failed loads of anything else are caught below.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) return;
    problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('response', (response) => {
    const type = response.request().resourceType();
    const status = response.status();
    const refusal = type === 'fetch' && status >= 400 && status < 500;
    if (status >= 400 && !refusal) problems.push(`${type} ${response.url()} answered ${status}`);
  });
  page.on('requestfailed', (request) => {
    const error = request.failure()?.errorText ?? 'failed';
    // A fetch cut short by the page closing, say.
    if (error === 'net::ERR_ABORTED') return;
    problems.push(`${request.resourceType()} ${request.url()} failed: ${error}`);
  });
  await page.goto(url);
  return page;
}

/** Fails if anything went wrong on `page` so far, naming every problem. */
export function assertNoProblems(page) {
  const problems = problemsOf.get(page) ?? [];
  assert.deepEqual(problems, [], `problems on ${page.url()}:\n  ${problems.join('\n  ')}`);
}


/**
 * Runs axe-core on the page as it is now; fails on any serious or critical
 * violation, listing each with the elements it found. Returns every
 * violation (the moderate and minor ones too).
 *
 * @param {import('playwright-core').Page} page
 * @param {string} label the state audited, for the failure message
 */
export async function audit(page, label) {
  await page.evaluate(AXE_SOURCE);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const grave = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  const describe = (violation) =>
    [
      `[${violation.impact}] ${violation.id}: ${violation.help} (${violation.helpUrl})`,
      ...violation.nodes.map((node) => `    ${node.target.join(' ')}: ${node.failureSummary.replace(/\n/g, ' ')}`),
    ].join('\n');
  assert.equal(grave.length, 0, `axe found ${grave.length} serious or critical violation(s) on ${label}:\n${grave.map(describe).join('\n')}`);
  return violations;
}

/** Saves what the page shows as `target/browser/<name>.png`. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * Polls `check` until it returns something other than undefined, null or
 * false, and returns that; fails after `timeoutMs` saying `what` did not
 * happen, and what `check` last saw (its `describe()` or the last value).
 */
export async function eventually(what, check, { timeoutMs = PAGE_PATIENCE_MS, last = () => '' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      const seen = await last();
      assert.fail(`${what} did not happen within ${timeoutMs} ms${seen ? `; last seen: ${seen}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `locator`'s text matches `pattern` (a string: contains it). */
export async function expectText(locator, pattern, what = `${locator} showing ${pattern}`) {
  const matches = (text) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
  let text = '';
  await eventually(
    what,
    async () => {
      text = ((await locator.count()) ? await locator.first().innerText() : '(not on the page)').replace(/\s+/g, ' ');
      return matches(text);
    },
    { last: () => text },
  );
  return text;
}

/** Waits until `locator` is the element with the keyboard focus. */
export async function expectFocused(locator, what = `${locator} having the focus`) {
  let focused = '';
  await eventually(
    what,
    async () => {
      focused = await locator.page().evaluate(() => {
        const element = document.activeElement;
        return element ? `<${element.tagName.toLowerCase()}> ${(element.textContent || element.id || '').trim().slice(0, 60)}` : 'nothing';
      });
      return (await locator.count()) === 1 && (await locator.evaluate((element) => element === document.activeElement));
    },
    { last: () => focused },
  );
}

/** Waits until `locator` is visible. */
export async function expectVisible(locator) {
  await locator.first().waitFor({ state: 'visible' });
}

/** Waits until nothing `locator` finds is visible. */
export async function expectHidden(locator) {
  await eventually(`${locator} hidden`, async () => {
    for (const element of await locator.all()) if (await element.isVisible()) return false;
    return true;
  });
}

/** The region (a named `<section>`) of the page called exactly `name`. */
export const region = (page, name) => page.getByRole('region', { name, exact: true });

/** Waits until the alert in `scope` (the page, or a region of it) shows
 * the problem, every one of `parts`; returns what it says. */
export async function shownProblem(scope, ...parts) {
  const alert = scope.getByRole('alert');
  for (const part of parts) await expectText(alert, part);
  return alert.innerText();
}

// --- the APIs, as the tests see them (to arrange, and to check a page) -----

/**
 * `method path` at `base` (a service's URL), with `token` as
 * `Authorization: Bearer` and `body` as JSON; its status and JSON body
 * (null when there is none).
 */
export async function call(base, method, path, { body, token, headers = {} } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** An event created at line-provider, closing `daysAhead` days from now
 * (whole seconds), once bet-maker offers it (through RabbitMQ): its JSON. */
export async function openEvent(services, coefficient, { daysAhead = 1 } = {}) {
  const deadline = new Date(Date.now() + daysAhead * 24 * 3600 * 1000);
  deadline.setUTCMilliseconds(0);
  const created = await call(services.lineProvider.url, 'POST', '/events', {
    token: services.operatorToken,
    body: { coefficient, deadline: deadline.toISOString() },
  });
  assert.equal(created.status, 201, `POST /events: ${JSON.stringify(created.body)}`);
  const event = created.body;
  await eventually(`bet-maker offering event ${event.id}`, async () => {
    const { body } = await call(services.betMaker.url, 'GET', '/events?limit=500');
    return body.items.some((offered) => offered.id === event.id);
  });
  return event;
}
