// The operator console: line-provider's own REST API, driven from a page.
//
// Everything it does is an API call with `fetch`: the list is
// `GET /events` (polled every second while the tab is visible: the
// service has no SSE stream, and a browser cannot speak gRPC without a
// proxy), every change is the API's own operator call with the token as
// `Authorization: Bearer` and the event's version as `If-Match`, and
// every refusal shown is the API's problem document.

import { Problem, api, busy, clearProblem, fill, h, pollWhileVisible, sessionValue, showProblem } from './common.js';

const POLL_INTERVAL_MS = 1000;
const PAGE_LIMIT = 500;
/** Pages read per refresh at most (10,000 events). */
const MAX_PAGES = 20;

const STATUS_LABELS = {
  NEW: 'New',
  SUSPENDED: 'Suspended',
  FINISHED_WIN: 'Finished: win',
  FINISHED_LOSE: 'Finished: lose',
  CANCELLED: 'Cancelled',
};
const FINAL_STATUSES = ['FINISHED_WIN', 'FINISHED_LOSE', 'CANCELLED'];
const OPEN_STATUSES = ['NEW', 'SUSPENDED'];
const CORRECTION_LABELS = { FINISHED_WIN: 'Win', FINISHED_LOSE: 'Lose', CANCELLED: 'Cancelled' };

const token = sessionValue('line-provider.operator-token');
const byId = (id) => document.getElementById(id);
const ui = {
  problem: byId('problem'),
  notice: byId('notice'),
  signIn: byId('sign-in'),
  signInForm: byId('sign-in-form'),
  tokenInput: byId('operator-token'),
  session: byId('session'),
  signOut: byId('sign-out'),
  workspace: byId('workspace'),
  createForm: byId('create-form'),
  createCoefficient: byId('create-coefficient'),
  createDeadline: byId('create-deadline'),
  events: byId('events'),
  empty: byId('line-empty'),
  freshness: byId('freshness'),
};

/** The rows on the page, by event id. */
const rows = new Map();
let poller = null;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

// --- time: the deadline inputs are in the browser's time zone -----------

/** `2031-06-01T12:00:00` (a datetime-local value) as an RFC 3339 instant;
 * what cannot be read is sent as typed, for the API to refuse. */
function toInstant(local) {
  if (!local) return local;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString().replace('.000Z', 'Z');
}

/** An RFC 3339 instant as a datetime-local value, to the second. */
function toLocalInput(instant) {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

function zoneName() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}

// --- talking to the API ---------------------------------------------------

function announce(text) {
  fill(ui.notice, text);
}

/**
 * An operator call. Resolves to the event the API answered with, or to
 * null after showing its refusal (a 401 also signs out: the token is no
 * longer the operator's).
 */
async function operatorCall(path, { method, body, version }) {
  clearProblem(ui.problem);
  fill(ui.notice);
  const headers = version === undefined ? {} : { 'If-Match': `"${version}"` };
  try {
    const { data } = await api(path, { method, body, headers, token: token.get() });
    return data;
  } catch (problem) {
    if (problem instanceof Problem && problem.status === 401) {
      signOut(problem);
    } else {
      showProblem(ui.problem, problem);
    }
    return null;
  }
}

// --- one event --------------------------------------------------------------

/** An event's row: what it is, and the operator's controls for it. */
class EventRow {
  constructor(event) {
    this.id = event.id;
    this.version = 0;
    this.status = null;
    const key = `event-${event.id}`;

    this.heading = h('h3', { id: `${key}-name`, tabindex: '-1' }, 'Event ', h('code', {}, event.id));
    this.badge = h('span', { class: 'badge' });
    this.coefficient = h('dd');
    this.deadline = h('dd');
    this.passed = h('span', { class: 'passed' }, ' (passed)');
    this.versionText = h('dd');

    const button = (label, onClick, className) =>
      h('button', { type: 'button', class: className, on: { click: (e) => busy(e.currentTarget, onClick) } }, label);
    this.suspend = button('Suspend', () => this.setStatus('SUSPENDED', 'Suspended'));
    this.resume = button('Resume', () => this.setStatus('NEW', 'Resumed'));
    this.finishWin = button('Finish: win', () => this.setStatus('FINISHED_WIN', 'Finished (win)'));
    this.finishLose = button('Finish: lose', () => this.setStatus('FINISHED_LOSE', 'Finished (lose)'));
    this.cancel = button('Cancel', () => this.setStatus('CANCELLED', 'Cancelled'), 'danger');
    this.actions = h('div', { class: 'actions' }, this.suspend, this.resume, this.finishWin, this.finishLose, this.cancel);

    this.edit = new EditForm(this, key);
    this.correction = new CorrectionForm(this, key);

    this.element = h(
      'li',
      {},
      h(
        'article',
        { class: 'event', 'aria-labelledby': `${key}-name` },
        h(
          'div',
          { class: 'event-head' },
          this.heading,
          this.badge,
          h(
            'dl',
            { class: 'facts' },
            h('div', {}, h('dt', {}, 'Coefficient'), this.coefficient),
            h('div', {}, h('dt', {}, 'Deadline'), this.deadline),
            h('div', {}, h('dt', {}, 'Version'), this.versionText),
          ),
        ),
        h('div', { class: 'controls' }, this.actions, this.edit.element, this.correction.element),
      ),
    );
  }

  /** Shows `event`, unless an answer about a later version is shown already
   * (a refresh that began before a change ends after it). `rebase` makes
   * the changes being typed apply to this version. */
  update(event, { rebase = false } = {}) {
    if (event.version < this.version) return;
    const changed = event.version !== this.version;
    this.event = event;
    this.version = event.version;
    if (changed) this.render(event);
    this.edit.sync(event, rebase);
    this.tick();
  }

  render(event) {
    const focused = this.element.contains(document.activeElement) ? document.activeElement : null;
    this.status = event.status;
    fill(this.badge, h('span', { class: 'visually-hidden' }, 'Status: '), STATUS_LABELS[event.status] || event.status);
    this.badge.dataset.status = event.status;
    fill(this.coefficient, event.coefficient);
    fill(this.deadline, h('time', { datetime: event.deadline }, dateTime.format(new Date(event.deadline))), this.passed);
    fill(this.versionText, String(event.version));

    const open = OPEN_STATUSES.includes(event.status);
    this.suspend.hidden = event.status !== 'NEW';
    this.resume.hidden = event.status !== 'SUSPENDED';
    for (const button of [this.finishWin, this.finishLose, this.cancel]) button.hidden = !open;
    this.actions.hidden = !open;
    this.edit.element.hidden = !open;
    this.correction.show(event.status);

    // A control that went away with the change (Suspend, once suspended)
    // hands the focus on to the one that took its place.
    if (focused && !isShown(focused)) this.focusAfterChange(focused);
  }

  focusAfterChange(gone) {
    const next =
      gone === this.suspend ? this.resume : gone === this.resume ? this.suspend : this.correction.firstControl();
    (next && isShown(next) ? next : this.heading).focus();
  }

  /** Whether the deadline has passed, by this browser's clock. */
  tick() {
    const open = OPEN_STATUSES.includes(this.status);
    this.passed.hidden = !(open && this.event && Date.parse(this.event.deadline) <= Date.now());
  }

  async setStatus(status, done) {
    const event = await operatorCall(`/events/${this.id}/status`, {
      method: 'PUT',
      body: { status },
      version: this.version,
    });
    if (event) {
      this.update(event);
      announce(`${done}: event ${this.id}.`);
    } else {
      await this.reloadAfterRefusal();
    }
  }

  /** After a refusal, the event as it is now (someone else may have
   * changed it first: 412), keeping what is being typed. */
  async reloadAfterRefusal() {
    try {
      const { data } = await api(`/events/${this.id}`);
      this.update(data, { rebase: true });
    } catch {
      // The refusal is on show; the next refresh catches up.
    }
  }
}

function isShown(element) {
  return element.isConnected && !element.closest('[hidden]');
}

/** Changing the coefficient and the deadline of an open event. Only the
 * fields the operator changed are sent, with `If-Match` naming the
 * version they were changed from: if someone else changed the event
 * meanwhile, the API answers 412 and nothing is overwritten. */
class EditForm {
  constructor(row, key) {
    this.row = row;
    this.base = 0;
    this.coefficient = h('input', {
      id: `${key}-coefficient`,
      type: 'text',
      inputmode: 'decimal',
      autocomplete: 'off',
    });
    this.deadline = h('input', { id: `${key}-deadline`, type: 'datetime-local', step: '1' });
    for (const input of [this.coefficient, this.deadline]) {
      input.addEventListener('input', () => {
        input.dataset.dirty = 'true';
      });
    }
    this.save = h('button', { type: 'submit' }, 'Save changes');
    this.element = h(
      'form',
      { class: 'row-form inline', novalidate: true, on: { submit: (e) => this.submit(e) } },
      h('div', { class: 'field' }, h('label', { for: this.coefficient.id }, 'Coefficient'), this.coefficient),
      h('div', { class: 'field' }, h('label', { for: this.deadline.id }, 'Deadline'), this.deadline),
      this.save,
    );
  }

  dirty() {
    return [this.coefficient, this.deadline].filter((input) => input.dataset.dirty === 'true');
  }

  /** The fields the operator is not changing follow the event. */
  sync(event, rebase) {
    if (this.dirty().length === 0 || rebase) this.base = event.version;
    if (this.coefficient.dataset.dirty !== 'true') this.coefficient.value = event.coefficient;
    if (this.deadline.dataset.dirty !== 'true') this.deadline.value = toLocalInput(event.deadline);
  }

  async submit(e) {
    e.preventDefault();
    const body = {};
    if (this.coefficient.dataset.dirty === 'true') body.coefficient = this.coefficient.value.trim();
    if (this.deadline.dataset.dirty === 'true') body.deadline = toInstant(this.deadline.value);
    const event = await busy(this.save, () =>
      operatorCall(`/events/${this.row.id}`, { method: 'PATCH', body, version: this.base }),
    );
    if (event) {
      for (const input of this.dirty()) delete input.dataset.dirty;
      this.row.update(event);
      announce(`Changed: event ${this.row.id}.`);
    } else {
      await this.row.reloadAfterRefusal();
    }
  }
}

/** Replacing a final status by another, with the reason. */
class CorrectionForm {
  constructor(row, key) {
    this.row = row;
    this.result = h('select', { id: `${key}-correct-to` });
    this.reason = h('input', { id: `${key}-reason`, type: 'text', autocomplete: 'off' });
    this.submitButton = h('button', { type: 'submit' }, 'Correct');
    this.element = h(
      'form',
      { class: 'row-form inline correction', novalidate: true, on: { submit: (e) => this.submit(e) } },
      h('div', { class: 'field' }, h('label', { for: this.result.id }, 'Correct to'), this.result),
      h('div', { class: 'field reason' }, h('label', { for: this.reason.id }, 'Reason'), this.reason),
      this.submitButton,
    );
  }

  /** Offers the final statuses other than `status`; hidden unless final. */
  show(status) {
    const final = FINAL_STATUSES.includes(status);
    this.element.hidden = !final;
    if (!final) return;
    const options = FINAL_STATUSES.filter((other) => other !== status);
    const kept = options.includes(this.result.value) ? this.result.value : options[0];
    fill(this.result, options.map((value) => h('option', { value }, CORRECTION_LABELS[value])));
    this.result.value = kept;
  }

  firstControl() {
    return this.result;
  }

  async submit(e) {
    e.preventDefault();
    const event = await busy(this.submitButton, () =>
      operatorCall(`/events/${this.row.id}/corrections`, {
        method: 'POST',
        body: { status: this.result.value, reason: this.reason.value },
        version: this.row.version,
      }),
    );
    if (event) {
      this.reason.value = '';
      this.row.update(event);
      announce(`Corrected to ${STATUS_LABELS[event.status]}: event ${this.row.id}.`);
    } else {
      await this.row.reloadAfterRefusal();
    }
  }
}

// --- the line -----------------------------------------------------------------

/** Shows `event`, adding its row in order (newest first: ids are UUID v7,
 * ordered by creation) if it is new. */
function upsert(event, options) {
  let row = rows.get(event.id);
  if (!row) {
    row = new EventRow(event);
    rows.set(event.id, row);
    const after = [...ui.events.children].find((item) => item.dataset.id < event.id);
    row.element.dataset.id = event.id;
    ui.events.insertBefore(row.element, after || null);
    ui.empty.hidden = true;
  }
  row.update(event, options);
  return row;
}

/** Reads the whole line, page by page (up to {@link MAX_PAGES}). */
async function refreshLine() {
  const events = [];
  let cursor = null;
  let pages = 0;
  try {
    do {
      const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (cursor) query.set('cursor', cursor);
      const { data } = await api(`/events?${query}`);
      events.push(...data.items);
      cursor = data.next_cursor;
      pages += 1;
    } while (cursor && pages < MAX_PAGES);
  } catch (problem) {
    ui.freshness.classList.add('stale');
    fill(ui.freshness, `Not refreshed at ${clock.format(new Date())}: ${problem.title}. ${problem.detail}`);
    return;
  }
  if (!token.get()) return;
  for (const event of events) upsert(event);
  ui.empty.hidden = rows.size > 0;
  ui.freshness.classList.remove('stale');
  const partial = cursor ? ` Showing the first ${events.length} events.` : '';
  fill(ui.freshness, `Live: refreshed at ${clock.format(new Date())}.${partial}`);
}

// --- signing in and out ---------------------------------------------------------

function showWorkspace() {
  ui.signIn.hidden = true;
  ui.session.hidden = false;
  ui.workspace.hidden = false;
  if (!poller) poller = pollWhileVisible(refreshLine, POLL_INTERVAL_MS);
}

/** Forgets the token; with `problem`, shows why. */
function signOut(problem) {
  token.clear();
  if (poller) poller.stop();
  poller = null;
  rows.clear();
  ui.events.replaceChildren();
  ui.workspace.hidden = true;
  ui.session.hidden = true;
  ui.signIn.hidden = false;
  ui.tokenInput.value = '';
  fill(ui.freshness, 'Not loaded yet.');
  if (problem) {
    showProblem(ui.problem, problem);
  } else {
    clearProblem(ui.problem);
    announce('Signed out.');
  }
  ui.tokenInput.focus();
}

/** Whether `candidate` is the operator token, as the API says
 * (`GET /console/operator`: 204, or the API's 401 or 429). */
async function checkToken(candidate) {
  await api('/console/operator', { token: candidate });
}

ui.signInForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearProblem(ui.problem);
  const candidate = ui.tokenInput.value.trim();
  const submit = ui.signInForm.querySelector('button[type="submit"]');
  const accepted = await busy(submit, async () => {
    try {
      await checkToken(candidate);
      return true;
    } catch (problem) {
      showProblem(ui.problem, problem);
      ui.tokenInput.select();
      return false;
    }
  });
  if (!accepted) return;
  token.set(candidate);
  ui.tokenInput.value = '';
  showWorkspace();
  announce('Signed in.');
  ui.createCoefficient.focus();
});

ui.signOut.addEventListener('click', () => signOut());

ui.createForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const submit = ui.createForm.querySelector('button[type="submit"]');
  const body = {
    coefficient: ui.createCoefficient.value.trim(),
    deadline: toInstant(ui.createDeadline.value),
  };
  const event = await busy(submit, () => operatorCall('/events', { method: 'POST', body }));
  if (!event) return;
  ui.createForm.reset();
  const row = upsert(event);
  announce(`Created: event ${event.id}.`);
  row.heading.focus();
});

for (const hint of document.querySelectorAll('.zone-hint')) {
  fill(hint, `In your time zone (${zoneName()}).`);
}

// A token kept from earlier in this tab's session is checked again first.
const kept = token.get();
if (kept) {
  checkToken(kept).then(showWorkspace, (problem) => signOut(problem));
}
