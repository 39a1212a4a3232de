// My bets: the bettor's bets, newest first, live (`event: bet` on the
// bets stream: placed, settled, cashed out), each with its legs; a
// pending one offers `Cash out`: the API's quote
// (`POST /bets/{id}/cash-out/quote`), taken with `Confirm cash out`
// before it expires.

import { Problem, fill, h } from './common.js';
import { announce, busy, clearRefusal, clockTime, money, shortId, showRefusal, time } from './page.js';
import { potentialPayout } from './decimal.js';

const LIMIT = 50;
const STATUS_LABELS = {
  PENDING: 'Pending',
  WON: 'Won',
  LOST: 'Lost',
  VOID: 'Void',
  CASHED_OUT: 'Cashed out',
};
const byId = (id) => document.getElementById(id);

/** One bet on the page. */
class BetRow {
  constructor(bet, bets) {
    this.bets = bets;
    this.id = bet.id;
    const key = `bet-${bet.id}`;
    this.heading = h('h3', { id: `${key}-name`, tabindex: '-1' });
    this.status = h('span', { class: 'status' });
    this.details = h('dl', { class: 'facts' });
    this.legs = h('ul', { class: 'legs', 'aria-label': 'Legs' });
    this.cashOut = h(
      'button',
      { type: 'button', 'aria-describedby': `${key}-name`, on: { click: (e) => busy(e.currentTarget, () => this.quote()) } },
      'Cash out',
    );
    this.offer = h('div', { class: 'offer', role: 'group', 'aria-labelledby': `${key}-offer`, hidden: true });
    this.element = h(
      'li',
      {},
      h('article', { class: 'bet', 'aria-labelledby': `${key}-name` }, this.heading, this.details, this.legs, this.cashOut, this.offer),
    );
    this.quoteTimer = null;
    this.show(bet);
  }

  show(bet) {
    this.bet = bet;
    const currency = this.bets.currency();
    const legs = bet.legs || [];
    fill(
      this.heading,
      legs.length > 1 ? `Accumulator of ${legs.length} events` : 'Single',
      ` · bet ${shortId(bet.id)}`,
    );
    this.status.dataset.status = bet.status;
    fill(this.status, STATUS_LABELS[bet.status] || bet.status);
    const payout =
      bet.status === 'PENDING'
        ? ['Pays if won', money(potentialPayout(bet.amount, [bet.coefficient]) ?? '—', currency)]
        : ['Payout', money(bet.payout ?? '0.00', currency)];
    const fact = (term, ...value) => h('div', {}, h('dt', {}, term), h('dd', {}, ...value));
    fill(
      this.details,
      fact('Status', this.status),
      fact('Stake', money(bet.amount, currency)),
      fact('Coefficient', bet.coefficient),
      fact(payout[0], payout[1]),
      fact('Placed', time(bet.placed_at)),
    );
    fill(
      this.legs,
      legs.map((leg) =>
        h(
          'li',
          {},
          'Event ',
          h('code', {}, leg.event_id),
          ` at ${leg.coefficient}: `,
          STATUS_LABELS[leg.status] || leg.status,
          leg.void_reason ? ` (${leg.void_reason})` : '',
        ),
      ),
    );
    const pending = bet.status === 'PENDING';
    if (!pending && this.element.contains(document.activeElement)) this.heading.focus();
    this.cashOut.hidden = !pending;
    if (!pending) this.endOffer();
  }

  async quote() {
    clearRefusal();
    try {
      const { data: quote } = await this.bets.session.call(`/bets/${this.id}/cash-out/quote`, { method: 'POST' });
      this.showOffer(quote);
    } catch (problem) {
      showRefusal(problem);
    }
  }

  showOffer(quote) {
    const key = `bet-${this.id}`;
    const currency = this.bets.currency();
    const countdown = h('span', {});
    const confirm = h(
      'button',
      { type: 'button', class: 'primary', on: { click: (e) => busy(e.currentTarget, () => this.take(quote)) } },
      'Confirm cash out',
    );
    const keep = h('button', { type: 'button', on: { click: () => this.endOffer(true) } }, 'Keep bet');
    fill(
      this.offer,
      h(
        'p',
        { id: `${key}-offer` },
        `Cash out for ${money(quote.amount, currency)}? The offer holds until `,
        clockTime(quote.expires_at),
        countdown,
        '.',
      ),
      h('div', { class: 'buttons' }, confirm, keep),
    );
    this.offer.hidden = false;
    this.cashOut.hidden = true;
    confirm.focus();
    const expires = Date.parse(quote.expires_at);
    const tick = () => {
      const left = Math.ceil((expires - Date.now()) / 1000);
      if (left <= 0) {
        this.endOffer(true);
        announce('The cash-out offer ended: ask again with Cash out.');
        return;
      }
      fill(countdown, ` (${left} s)`);
      this.quoteTimer = setTimeout(tick, 1000);
    };
    tick();
  }

  /** Hides the offer; `refocus` puts the focus back on `Cash out`. */
  endOffer(refocus = false) {
    clearTimeout(this.quoteTimer);
    this.quoteTimer = null;
    const had = this.offer.contains(document.activeElement);
    this.offer.hidden = true;
    this.offer.replaceChildren();
    if (this.bet.status === 'PENDING') {
      this.cashOut.hidden = false;
      if (refocus || had) this.cashOut.focus();
    } else if (had) {
      this.heading.focus();
    }
  }

  async take(quote) {
    clearRefusal();
    try {
      const { data: bet } = await this.bets.session.call(`/bets/${this.id}/cash-out`, {
        method: 'POST',
        body: { quote_id: quote.quote_id },
      });
      this.bets.apply(bet);
      this.heading.focus();
      announce(`Cashed out: ${money(bet.payout, this.bets.currency())} credited to your wallet.`);
    } catch (problem) {
      this.endOffer(true);
      showRefusal(problem);
    }
  }
}

export class MyBets {
  /**
   * @param {import('./page.js').Session} session
   * @param {() => string} currency
   */
  constructor(session, currency) {
    this.session = session;
    this.currency = currency;
    this.rows = new Map();
    this.ui = { list: byId('bets'), empty: byId('bets-empty'), state: byId('bets-state') };
  }

  /** The newest bets, as the API has them now. */
  async reload() {
    try {
      const { data } = await this.session.call(`/bets?limit=${LIMIT}`);
      const loaded = new Set(data.items.map((bet) => bet.id));
      for (const [id, row] of this.rows) {
        if (!loaded.has(id)) {
          row.element.remove();
          this.rows.delete(id);
        }
      }
      for (const bet of data.items) this.apply(bet);
      this.showEmpty();
    } catch (problem) {
      if (problem instanceof Problem && problem.status !== 401) fill(this.ui.state, 'Could not load your bets.');
    }
  }

  /** A bet as the API or the stream says it is now. */
  apply(bet) {
    const row = this.rows.get(bet.id);
    if (row) {
      const was = row.bet.status;
      row.show(bet);
      if (was === 'PENDING' && bet.status !== 'PENDING') {
        announce(`Bet ${shortId(bet.id)}: ${(STATUS_LABELS[bet.status] || bet.status).toLowerCase()}.`);
      }
    } else {
      const added = new BetRow(bet, this);
      this.rows.set(bet.id, added);
      // Newest first: ids are UUID v7, ordered by time.
      const after = [...this.rows.values()].find((other) => other !== added && other.element.isConnected && other.id < bet.id);
      this.ui.list.insertBefore(added.element, after ? after.element : null);
    }
    this.showEmpty();
  }

  /** The currency became known: amounts are shown with it. */
  refresh() {
    for (const row of this.rows.values()) row.show(row.bet);
  }

  state(text) {
    fill(this.ui.state, text);
  }

  clear() {
    for (const row of this.rows.values()) row.endOffer();
    this.rows.clear();
    this.ui.list.replaceChildren();
  }

  showEmpty() {
    this.ui.empty.hidden = this.rows.size > 0;
  }
}
