// The line: the events open for betting, live. `GET /events` loads it
// and `GET /events/stream` (an EventSource: the stream is public, so no
// header is needed) keeps it up to date: a newer version of an event
// replaces the one shown, so the order changes arrive in does not matter.
// A coefficient that moved flashes (up or down) and is announced; a
// suspended event is greyed out and cannot be added to the slip; a
// finished, cancelled or closed one leaves the line.

import { api, fill, h } from './common.js';
import { regions, shortId, time } from './page.js';
import { compareDecimals } from './decimal.js';

const PAGE_LIMIT = 500;
const MAX_PAGES = 20;
const FLASH_MS = 4000;
const STATUS_LABELS = { NEW: 'Open', SUSPENDED: 'Suspended' };

const byId = (id) => document.getElementById(id);

/** Whether an event (as the API sends it) takes bets, or may again. */
export function onTheLine(event, now = Date.now()) {
  return (event.status === 'NEW' || event.status === 'SUSPENDED') && Date.parse(event.deadline) > now;
}

/** One event on the line. */
class EventRow {
  constructor(event, line) {
    this.line = line;
    this.id = event.id;
    const key = `event-${event.id}`;
    this.heading = h('h3', { id: `${key}-name` }, 'Event ', h('code', {}, event.id));
    this.badge = h('span', { class: 'badge', id: `${key}-status` });
    this.coefficient = h('span', { class: 'coefficient' });
    this.deadline = h('dd');
    this.add = h(
      'button',
      { type: 'button', 'aria-pressed': 'false', 'aria-describedby': `${key}-status`, on: { click: () => this.toggle() } },
      'Add to slip',
    );
    this.article = h(
      'article',
      { class: 'event', 'aria-labelledby': `${key}-name` },
      h(
        'div',
        {},
        this.heading,
        h(
          'dl',
          { class: 'facts' },
          h('div', {}, h('dt', {}, 'Coefficient'), h('dd', {}, this.coefficient)),
          h('div', {}, h('dt', {}, 'Status'), h('dd', {}, this.badge)),
          h('div', {}, h('dt', {}, 'Closes'), this.deadline),
        ),
      ),
      this.add,
    );
    this.element = h('li', {}, this.article);
    this.flashTimer = null;
    this.show(event, null);
  }

  /** Shows `event`; `previous` is the version shown before, if any. */
  show(event, previous) {
    this.event = event;
    const suspended = event.status === 'SUSPENDED';
    this.article.classList.toggle('suspended', suspended);
    this.badge.dataset.status = event.status;
    fill(this.badge, STATUS_LABELS[event.status] || event.status);
    fill(this.deadline, time(event.deadline));
    if (suspended) this.add.setAttribute('aria-disabled', 'true');
    else this.add.removeAttribute('aria-disabled');

    const moved = previous ? compareDecimals(event.coefficient, previous.coefficient) : 0;
    if (moved === 0) {
      if (!this.flashTimer) fill(this.coefficient, event.coefficient);
      else this.coefficient.firstChild.textContent = event.coefficient;
      return;
    }
    this.flash(moved > 0 ? 'up' : 'down');
  }

  flash(direction) {
    clearTimeout(this.flashTimer);
    this.coefficient.classList.remove('moved-up', 'moved-down');
    // Restart the animation: a second move while the first still flashes.
    void this.coefficient.offsetWidth;
    this.coefficient.classList.add(`moved-${direction}`);
    fill(
      this.coefficient,
      this.event.coefficient,
      h('span', { class: 'move', 'aria-hidden': 'true' }, direction === 'up' ? '▲' : '▼'),
    );
    this.flashTimer = setTimeout(() => {
      this.flashTimer = null;
      this.coefficient.classList.remove('moved-up', 'moved-down');
      fill(this.coefficient, this.event.coefficient);
    }, FLASH_MS);
  }

  selected(on) {
    this.add.setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  toggle() {
    if (this.line.slip.has(this.id)) {
      this.line.slip.remove(this.id);
      return;
    }
    if (this.event.status === 'SUSPENDED') {
      fill(regions.notice, `Event ${shortId(this.id)} is suspended: no bets until it resumes.`);
      return;
    }
    this.line.slip.add(this.event);
  }
}

/** The line as the page shows it, with what the slip needs to know. */
export class Line {
  constructor() {
    this.list = byId('events');
    this.empty = byId('line-empty');
    this.state = byId('line-state');
    this.rows = new Map();
    this.slip = null;
    this.source = null;
    this.loading = null;
    this.buffered = [];
    this.listeners = [];
  }

  /** Calls `fn(event)` whenever an event changes (or leaves the line). */
  onChange(fn) {
    this.listeners.push(fn);
  }

  /** The event as the line shows it now, or null when it is not on it. */
  current(id) {
    return this.rows.get(id)?.event ?? null;
  }

  start() {
    this.connect();
    // A deadline passes without a message: the event leaves the line.
    setInterval(() => this.closePassed(), 1000);
  }

  connect() {
    this.source?.close();
    const source = new EventSource('/events/stream');
    this.source = source;
    // Every (re)connection reloads: what happened while away is then known
    // whether or not the browser could resume after its last id.
    source.addEventListener('open', () => {
      fill(this.state, 'Live');
      this.reload();
    });
    source.addEventListener('line', (message) => this.deliver(parse(message.data)));
    source.addEventListener('reset', () => this.reload());
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (a 429, a 5xx): EventSource gives up; try again later.
        fill(this.state, 'Reconnecting…');
        setTimeout(() => this.source === source && this.connect(), 2000 + Math.random() * 3000);
      } else {
        fill(this.state, 'Reconnecting…');
      }
    });
  }

  deliver(event) {
    if (!event) return;
    if (this.loading) this.buffered.push(event);
    else this.apply(event);
  }

  /** Loads the whole line; changes that arrive meanwhile are applied
   * after it (a newer version wins either way). */
  async reload() {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      try {
        const events = [];
        let cursor = null;
        for (let page = 0; page < MAX_PAGES; page += 1) {
          const query = `?limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const { data } = await api(`/events${query}`);
          events.push(...data.items);
          cursor = data.next_cursor;
          if (!cursor) break;
        }
        const loaded = new Set(events.map((event) => event.id));
        for (const id of [...this.rows.keys()]) {
          if (!loaded.has(id)) this.leave(id);
        }
        for (const event of events) this.apply(event);
      } catch {
        fill(this.state, 'Could not load the line: retrying');
        setTimeout(() => this.reload(), 3000);
      } finally {
        this.loading = null;
        const buffered = this.buffered;
        this.buffered = [];
        for (const event of buffered) this.apply(event);
        this.showEmpty();
      }
    })();
    return this.loading;
  }

  apply(event) {
    const row = this.rows.get(event.id);
    if (row && event.version <= row.event.version) return;
    if (!onTheLine(event)) {
      if (row) this.leave(event.id, event);
      return;
    }
    if (row) {
      const previous = row.event;
      row.show(event, previous);
      this.announceChange(event, previous);
    } else {
      const added = new EventRow(event, this);
      added.selected(this.slip?.has(event.id) ?? false);
      this.rows.set(event.id, added);
      this.insert(added);
    }
    this.showEmpty();
    for (const fn of this.listeners) fn(event);
  }

  /** Newest deadline last: the order bettors read a fixture list in. */
  insert(row) {
    const deadline = Date.parse(row.event.deadline);
    const after = [...this.rows.values()].find(
      (other) => other !== row && other.element.isConnected && Date.parse(other.event.deadline) > deadline,
    );
    this.list.insertBefore(row.element, after ? after.element : null);
  }

  leave(id, event = null) {
    const row = this.rows.get(id);
    if (!row) return;
    // The focus on a row that goes goes to the line's heading.
    if (row.element.contains(document.activeElement)) byId('line-heading').focus();
    row.element.remove();
    this.rows.delete(id);
    this.showEmpty();
    const gone = event ?? { ...row.event, status: 'CLOSED' };
    for (const fn of this.listeners) fn(gone);
  }

  closePassed() {
    const now = Date.now();
    for (const row of [...this.rows.values()]) {
      if (!onTheLine(row.event, now)) this.leave(row.id);
    }
  }

  announceChange(event, previous) {
    const name = `Event ${shortId(event.id)}`;
    const news = [];
    const moved = compareDecimals(event.coefficient, previous.coefficient);
    if (moved !== 0) {
      news.push(`${name}: coefficient ${moved > 0 ? 'up' : 'down'} from ${previous.coefficient} to ${event.coefficient}.`);
    }
    if (event.status !== previous.status) {
      news.push(event.status === 'SUSPENDED' ? `${name} is suspended.` : `${name} is open again.`);
    }
    if (news.length) fill(regions.lineNews, news.join(' '));
  }

  /** The slip's selection changed: the buttons follow it. */
  selectionChanged(id, on) {
    this.rows.get(id)?.selected(on);
  }

  showEmpty() {
    this.empty.hidden = this.rows.size > 0 || Boolean(this.loading);
  }
}

function parse(data) {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}
