// The Exposure table: every event not yet decided (`GET /admin/exposure`,
// page by page), what it would cost the house if every pending bet on it
// won, and per event the trader's maximum liability
// (`PUT /admin/events/{id}/limits`). Rows are updated in place, so what a
// trader is typing into one survives every refresh.

import { busy, fill, h } from './common.js';
import { percentOf } from './decimal.js';
import { Section, dateTime, staffCall } from './session.js';

const PAGE_LIMIT = 500;
/** Pages read per refresh at most (10,000 events). */
const MAX_PAGES = 20;
/** From this share of its maximum on, an event's liability is flagged. */
const NEAR_LIMIT_PERCENT = 80n;

export class ExposureTable {
  /** @param {() => void} changed called after a limit was set */
  constructor(changed) {
    this.section = new Section('exposure');
    this.changed = changed;
    this.body = this.section.element.querySelector('tbody');
    this.empty = this.section.element.querySelector('.empty');
    /** @type {Map<string, ExposureRow>} */
    this.rows = new Map();
  }

  /** Reads every open event's exposure and shows it. */
  async refresh() {
    if (this.section.blocked) return;
    const items = [];
    let cursor = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (cursor) query.set('cursor', cursor);
      const page = await staffCall(this.section, `/admin/exposure?${query}`, { refresh: true });
      if (!page) return;
      items.push(...page.items);
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor && pages < MAX_PAGES);
    this.show(items);
    this.section.fresh(new Date());
  }

  show(items) {
    const seen = new Set();
    let previous = null;
    for (const item of items) {
      seen.add(item.event_id);
      let row = this.rows.get(item.event_id);
      if (!row) {
        row = new ExposureRow(item.event_id, this);
        this.rows.set(item.event_id, row);
      }
      row.update(item);
      // Newest first, as the API lists them.
      const place = previous ? previous.element.nextSibling : this.body.firstChild;
      if (place !== row.element) this.body.insertBefore(row.element, place);
      previous = row;
    }
    for (const [id, row] of this.rows) {
      if (seen.has(id)) continue;
      // Decided: gone from the list. The focus, if it was there, goes to
      // the section's heading rather than nowhere.
      if (row.element.contains(document.activeElement)) this.section.heading.focus();
      row.element.remove();
      this.rows.delete(id);
    }
    this.empty.hidden = this.rows.size > 0;
  }

  clear() {
    this.rows.clear();
    this.body.replaceChildren();
    this.empty.hidden = true;
  }
}

/** One event's row, and its form for the maximum liability. */
class ExposureRow {
  constructor(eventId, table) {
    this.id = eventId;
    this.table = table;
    const cell = () => h('td', { class: 'number' });
    this.status = h('td');
    this.coefficient = cell();
    this.pending = cell();
    this.stakes = cell();
    this.payout = cell();
    this.liability = cell();
    this.maximum = cell();
    const inputId = `max-liability-${eventId}`;
    this.input = h('input', {
      id: inputId,
      type: 'text',
      inputmode: 'decimal',
      autocomplete: 'off',
      size: '12',
    });
    this.submit = h('button', { type: 'submit' }, 'Set limit');
    const form = h(
      'form',
      { class: 'limit-form', novalidate: true, on: { submit: (e) => this.setLimit(e) } },
      h('label', { for: inputId, class: 'visually-hidden' }, 'Max liability'),
      this.input,
      this.submit,
    );
    this.element = h(
      'tr',
      { 'data-event-id': eventId },
      h('th', { scope: 'row' }, h('code', { class: 'event-id' }, eventId)),
      this.status,
      this.coefficient,
      this.pending,
      this.stakes,
      this.payout,
      this.liability,
      this.maximum,
      h('td', {}, form),
    );
  }

  update(item) {
    this.item = item;
    const passed = item.status === 'NEW' && Date.parse(item.deadline) <= Date.now();
    const status = item.status === 'SUSPENDED' ? 'Suspended' : passed ? 'Closed, awaiting its result' : 'Open';
    fill(
      this.status,
      h('span', { class: 'badge', 'data-status': passed ? 'CLOSED' : item.status }, status),
      h('span', { class: 'hint block' }, 'until ', h('time', { datetime: item.deadline }, dateTime.format(new Date(item.deadline)))),
    );
    fill(this.coefficient, item.coefficient);
    fill(this.pending, String(item.pending_bets));
    fill(this.stakes, item.stakes);
    fill(this.payout, item.potential_payout);
    const share = percentOf(item.liability, item.max_liability);
    const near = share !== null && share >= NEAR_LIMIT_PERCENT;
    this.element.classList.toggle('near-limit', near);
    fill(
      this.liability,
      item.liability,
      share === null ? null : h('span', { class: 'hint block' }, `${share} % of max${near ? ', near the limit' : ''}`),
    );
    fill(
      this.maximum,
      item.max_liability,
      h('span', { class: 'hint block' }, item.max_liability_set ? 'set by a trader' : 'the default'),
    );
  }

  async setLimit(e) {
    e.preventDefault();
    const typed = this.input.value.trim();
    const section = this.table.section;
    const exposure = await busy(this.submit, () =>
      staffCall(section, `/admin/events/${encodeURIComponent(this.id)}/limits`, {
        method: 'PUT',
        body: { max_liability: typed === '' ? null : typed },
      }),
    );
    if (!exposure) return;
    this.input.value = '';
    // The API answers with the exposure; status and deadline are as shown.
    this.update({ ...this.item, ...exposure });
    section.announce(
      exposure.max_liability_set
        ? `Max liability of event ${this.id} set to ${exposure.max_liability}.`
        : `Max liability of event ${this.id} removed: the default ${exposure.max_liability} applies.`,
    );
    this.table.changed();
  }
}
