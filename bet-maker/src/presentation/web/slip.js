// The bet slip: the events picked from the line, each at the coefficient
// the bettor saw when picking it; one is a single, several an
// accumulator. `Place bet` sends those coefficients and the odds-change
// choice, so a price that moved meanwhile is the API's `odds-changed`
// refusal unless the bettor accepted the move; after it the slip takes
// the line's coefficients, to be placed again knowingly. The max stake is
// the API's (`GET /events/{id}/max-stake`, every limit and the balance
// considered).

import { Problem, fill, h } from './common.js';
import { announce, busy, clearRefusal, idempotencyKey, money, problemType, shortId, showRefusal } from './page.js';
import { combinedCoefficient, compareDecimals, isAmount, potentialPayout, smallest } from './decimal.js';

const MAX_LEGS = 20;
const byId = (id) => document.getElementById(id);

export class Slip {
  /**
   * @param {import('./page.js').Session} session
   * @param {import('./line.js').Line} line
   * @param {{onPlaced: (bet: object) => void, currency: () => string}} hooks
   */
  constructor(session, line, { onPlaced, currency }) {
    this.session = session;
    this.line = line;
    this.onPlaced = onPlaced;
    this.currency = currency;
    this.selections = new Map();
    this.key = null;
    this.maxStakeRequest = 0;
    this.ui = {
      list: byId('selections'),
      empty: byId('slip-empty'),
      form: byId('slip-form'),
      kind: byId('slip-kind'),
      stake: byId('stake'),
      maxStake: byId('max-stake'),
      accept: byId('accept-odds'),
      payout: byId('potential-payout'),
      place: byId('slip-form').querySelector('button[type="submit"]'),
    };
    this.ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(this.ui.place, () => this.place());
    });
    for (const input of [this.ui.stake, this.ui.accept]) {
      input.addEventListener('input', () => {
        this.key = null;
        this.ui.stake.removeAttribute('aria-invalid');
        this.showTotals();
      });
    }
    line.onChange((event) => this.lineChanged(event));
  }

  has(id) {
    return this.selections.has(id);
  }

  add(event) {
    if (this.selections.size >= MAX_LEGS) {
      announce(`A slip holds at most ${MAX_LEGS} events.`);
      return;
    }
    this.selections.set(event.id, { id: event.id, seen: event.coefficient });
    this.line.selectionChanged(event.id, true);
    this.changed();
    announce(`Event ${shortId(event.id)} added to the slip at ${event.coefficient}.`);
  }

  remove(id) {
    if (!this.selections.delete(id)) return;
    this.line.selectionChanged(id, false);
    this.changed();
    announce(`Event ${shortId(id)} removed from the slip.`);
  }

  clear() {
    for (const id of [...this.selections.keys()]) this.line.selectionChanged(id, false);
    this.selections.clear();
    this.ui.stake.value = '';
    this.changed();
  }

  changed() {
    this.key = null;
    this.render();
    this.refreshMaxStake();
  }

  lineChanged(event) {
    if (this.selections.has(event.id)) {
      this.render();
      if (event.status !== 'NEW') this.refreshMaxStake();
    }
  }

  render() {
    const focused = this.ui.list.contains(document.activeElement);
    this.ui.list.replaceChildren(...[...this.selections.values()].map((selection) => this.item(selection)));
    const count = this.selections.size;
    this.ui.empty.hidden = count > 0;
    this.ui.form.hidden = count === 0;
    if (focused) byId('slip-heading').focus();
    this.showTotals();
  }

  item(selection) {
    const key = `slip-${selection.id}`;
    const current = this.line.current(selection.id);
    const facts = [h('span', {}, 'Coefficient ', h('strong', {}, selection.seen))];
    if (!current) {
      facts.push(h('span', { class: 'moved' }, ' · no longer on the line'));
    } else {
      if (compareDecimals(current.coefficient, selection.seen) !== 0) {
        facts.push(h('span', { class: 'moved' }, ` · now ${current.coefficient}`));
      }
      if (current.status === 'SUSPENDED') facts.push(h('span', { class: 'moved' }, ' · suspended'));
    }
    return h(
      'li',
      { class: 'selection', 'aria-labelledby': `${key}-name` },
      h('div', {}, h('h3', { id: `${key}-name` }, 'Event ', h('code', {}, selection.id)), h('p', { class: 'hint' }, facts)),
      h(
        'button',
        { type: 'button', 'aria-describedby': `${key}-name`, on: { click: () => this.remove(selection.id) } },
        'Remove',
      ),
    );
  }

  seenCoefficients() {
    return [...this.selections.values()].map((selection) => selection.seen);
  }

  showTotals() {
    const count = this.selections.size;
    const coefficients = this.seenCoefficients();
    if (count === 1) fill(this.ui.kind, `Single at ${coefficients[0]}`);
    else if (count > 1) fill(this.ui.kind, `Accumulator of ${count} events at ${combinedCoefficient(coefficients)}`);
    else fill(this.ui.kind);
    const payout = count ? potentialPayout(this.ui.stake.value, coefficients) : null;
    fill(this.ui.payout, payout ? `Potential payout: ${money(payout, this.currency())}` : '');
  }

  /** The max stake, as the API says it: a single's own; for an
   * accumulator the lowest of its events' (its payout, higher than any
   * leg's, may lower it further: the API's refusal then says by how much). */
  async refreshMaxStake() {
    const ids = [...this.selections.keys()];
    const request = ++this.maxStakeRequest;
    if (ids.length === 0) return;
    if (!this.session.signedIn) {
      fill(this.ui.maxStake, 'Sign in to see your max stake.');
      return;
    }
    const answers = await Promise.all(
      ids.map((id) =>
        this.session.call(`/events/${id}/max-stake`).then(
          ({ data }) => ({ data }),
          (problem) => ({ problem }),
        ),
      ),
    );
    if (request !== this.maxStakeRequest) return;
    const refused = answers.find((answer) => answer.problem);
    if (refused) {
      const detail = refused.problem instanceof Problem ? refused.problem.detail : '';
      fill(this.ui.maxStake, `Max stake: none now${detail ? ` (${detail})` : ''}.`);
      return;
    }
    const most = smallest(answers.map((answer) => answer.data.max_stake));
    fill(
      this.ui.maxStake,
      ids.length === 1
        ? `Max stake: ${money(most, this.currency())}`
        : `Max stake: at most ${money(most, this.currency())} (the lowest of its events')`,
    );
  }

  body() {
    const accept = this.ui.accept.value;
    const amount = this.ui.stake.value.trim();
    const selections = [...this.selections.values()];
    if (selections.length === 1) {
      return { event_id: selections[0].id, coefficient: selections[0].seen, amount, accept_odds_change: accept };
    }
    return {
      legs: selections.map((selection) => ({ event_id: selection.id, coefficient: selection.seen })),
      amount,
      accept_odds_change: accept,
    };
  }

  async place() {
    clearRefusal();
    if (!isAmount(this.ui.stake.value)) {
      // Sent anyway: the API's refusal names the rule.
      this.ui.stake.setAttribute('aria-invalid', 'true');
    } else {
      this.ui.stake.removeAttribute('aria-invalid');
    }
    // A retry after no answer sends the same key: never two bets.
    this.key ??= idempotencyKey();
    try {
      const { data: bet } = await this.session.call('/bets', {
        method: 'POST',
        body: this.body(),
        headers: { 'Idempotency-Key': this.key },
      });
      this.key = null;
      const what = bet.legs.length > 1 ? `Accumulator of ${bet.legs.length} events` : 'Single';
      this.clear();
      this.onPlaced(bet);
      announce(`Bet placed: ${what}, stake ${money(bet.amount, this.currency())} at ${bet.coefficient}.`);
    } catch (problem) {
      if (problem instanceof Problem && problem.status !== 0) this.key = null;
      showRefusal(problem);
      if (problemType(problem) === 'odds-changed') this.takeTheLine();
      if (problemType(problem) === 'validation') this.ui.stake.setAttribute('aria-invalid', 'true');
    }
  }

  /** After an odds change: every selection at the line's coefficient now,
   * for the bettor to place again (or not). */
  takeTheLine() {
    for (const selection of this.selections.values()) {
      const current = this.line.current(selection.id);
      if (current) selection.seen = current.coefficient;
    }
    this.render();
    announce('The slip now shows the coefficients on the line: place the bet again to take them.');
  }
}
