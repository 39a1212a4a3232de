// What the back office reads without changing: the audit log
// (`GET /admin/audit`, newest first: who, what, on what, when, why, the
// before and the after) and the dead-letter queue (`GET
// /admin/dead-letters`: its depth as last read and the latest reasons
// bet-maker gave).

import { fill, h } from './common.js';
import { Section, clock, dateTime, staffCall } from './session.js';

/** Audit entries shown at first, and added by each "Show older entries". */
const AUDIT_STEP = 20;
/** The most one page of the API holds. */
const AUDIT_MAX = 500;

/** `{"max_stake": "500.00"}` as `max_stake: 500.00`, one line a field. */
function snapshot(value) {
  if (value === null || value === undefined) return h('span', { class: 'hint' }, 'none');
  if (typeof value !== 'object') return h('code', {}, String(value));
  const fields = Object.entries(value);
  if (fields.length === 0) return h('span', { class: 'hint' }, 'none');
  return h(
    'ul',
    { class: 'snapshot' },
    fields.map(([name, field]) =>
      h('li', {}, h('code', {}, name), ': ', field === null ? 'none' : typeof field === 'string' ? field : JSON.stringify(field)),
    ),
  );
}

export class AuditLog {
  constructor() {
    this.section = new Section('audit');
    this.body = this.section.element.querySelector('tbody');
    this.empty = this.section.element.querySelector('.empty');
    this.more = this.section.element.querySelector('.more');
    this.limit = AUDIT_STEP;
    this.more.addEventListener('click', () => {
      this.limit = Math.min(this.limit + AUDIT_STEP, AUDIT_MAX);
      this.refresh();
    });
  }

  async refresh() {
    if (this.section.blocked) return;
    const page = await staffCall(this.section, `/admin/audit?limit=${this.limit}`, { refresh: true });
    if (!page) return;
    // Entries never change: an entry already shown keeps its row.
    const shown = new Map([...this.body.children].map((row) => [row.dataset.id, row]));
    const rows = page.items.map((entry) => shown.get(entry.id) || this.row(entry));
    const focused = this.more.contains(document.activeElement);
    this.body.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
    this.more.hidden = !page.next_cursor || this.limit >= AUDIT_MAX;
    if (focused && this.more.hidden) this.section.heading.focus();
    this.section.fresh(new Date());
  }

  row(entry) {
    return h(
      'tr',
      { 'data-id': entry.id },
      h('td', {}, h('time', { datetime: entry.created_at }, dateTime.format(new Date(entry.created_at)))),
      h('td', {}, entry.actor),
      h('td', { class: 'action' }, h('code', {}, entry.action)),
      h('td', {}, h('code', {}, entry.subject)),
      h('td', {}, entry.reason),
      h('td', {}, snapshot(entry.before)),
      h('td', {}, snapshot(entry.after)),
    );
  }

  clear() {
    this.body.replaceChildren();
    this.limit = AUDIT_STEP;
  }
}

export class DeadLetters {
  constructor() {
    this.section = new Section('dead-letters');
    this.depth = this.section.element.querySelector('.depth-value');
    this.detail = this.section.element.querySelector('.depth-detail');
    this.list = this.section.element.querySelector('.letters');
    this.empty = this.section.element.querySelector('.empty');
    this.shown = '';
  }

  async refresh() {
    if (this.section.blocked) return;
    const view = await staffCall(this.section, '/admin/dead-letters', { refresh: true });
    if (!view) return;
    if (view.depth === null) {
      fill(this.depth, 'not read yet');
      fill(this.detail, 'bet-maker has not reached the broker yet.');
    } else {
      fill(this.depth, `${view.depth} message${view.depth === 1 ? '' : 's'}`);
      fill(
        this.detail,
        `Of at most ${view.max_length} (beyond it the oldest are dropped); read at ${clock.format(new Date(view.read_at))}.`,
      );
    }
    // Rebuilt only when it changed: a screen reader reading the list is
    // not interrupted every second.
    const key = view.latest.map((letter) => letter.id).join();
    if (key !== this.shown) {
      this.shown = key;
      this.list.replaceChildren(...view.latest.map((letter) => this.item(letter)));
    }
    this.empty.hidden = view.latest.length > 0;
  }

  item(letter) {
    return h(
      'li',
      { class: 'letter' },
      h(
        'p',
        { class: 'letter-head' },
        h('code', { class: 'label' }, letter.label),
        ' on ',
        h('code', {}, letter.routing_key),
        ', ',
        h('time', { datetime: letter.at }, dateTime.format(new Date(letter.at))),
      ),
      h('p', { class: 'letter-reason' }, letter.reason),
    );
  }

  clear() {
    this.list.replaceChildren();
    this.shown = '';
  }
}
