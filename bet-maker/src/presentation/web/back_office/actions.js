// The staff's two forms besides the event limits: a trader's cap on one
// bettor's stakes (`PUT /admin/bettors/{bettor}/limits`) and a cashier's
// adjustment of a wallet (`POST /admin/wallets/{bettor}/adjustments`).
// Amounts go to the API as typed (strings): the API parses them exactly
// and refuses what is not money, and its refusal is what the page shows.

import { busy } from './common.js';
import { Section, localProblem, staffCall } from './session.js';

/** The bettor typed in, or null after saying that one is needed (the
 * bettor is part of the call's URL). */
function bettorOf(section, input) {
  const bettor = input.value.trim();
  if (bettor) return bettor;
  section.refused(localProblem('No bettor', "Bettor: type the bettor's name (their token's sub)."));
  input.focus();
  return null;
}

/** A staff form on one bettor: its section, the bettor's field, and the
 * submit that sends it (busy meanwhile); `changed` is called after a
 * change was made. */
class BettorForm {
  constructor(sectionId, bettorId, changed) {
    this.section = new Section(sectionId);
    this.changed = changed;
    this.form = this.section.element.querySelector('form');
    this.bettor = document.getElementById(bettorId);
    this.submit = this.form.querySelector('button[type="submit"]');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(this.submit, () => this.send());
    });
  }

  async send() {
    this.section.clear();
    const bettor = bettorOf(this.section, this.bettor);
    if (!bettor) return;
    const done = await this.sendFor(bettor);
    if (!done) return;
    this.form.reset();
    this.section.announce(done);
    this.changed();
  }
}

/** The trader's cap on one bettor's stakes. */
export class BettorLimitsForm extends BettorForm {
  /** @param {() => void} changed called after a change was made */
  constructor(changed) {
    super('bettor-limits', 'limit-bettor', changed);
    this.maxStake = document.getElementById('limit-max-stake');
    this.reason = document.getElementById('limit-reason');
  }

  /** What to announce once the cap is set, or null when refused. */
  async sendFor(bettor) {
    const typed = this.maxStake.value.trim();
    const reason = this.reason.value.trim();
    const body = { max_stake: typed === '' ? null : typed, ...(reason ? { reason } : {}) };
    const limits = await staffCall(this.section, `/admin/bettors/${encodeURIComponent(bettor)}/limits`, {
      method: 'PUT',
      body,
    });
    if (!limits) return null;
    return limits.max_stake === null
      ? `Stake limit of ${limits.bettor} removed.`
      : `Stake limit of ${limits.bettor} set to ${limits.max_stake}.`;
  }
}

/** The cashier's adjustment of one wallet. */
export class AdjustmentForm extends BettorForm {
  /** @param {() => void} changed called after a change was made */
  constructor(changed) {
    super('cashier', 'adjust-bettor', changed);
    this.amount = document.getElementById('adjust-amount');
    this.reason = document.getElementById('adjust-reason');
  }

  /** What to announce once the wallet is adjusted, or null when refused. */
  async sendFor(bettor) {
    const line = await staffCall(this.section, `/admin/wallets/${encodeURIComponent(bettor)}/adjustments`, {
      method: 'POST',
      body: { amount: this.amount.value.trim(), reason: this.reason.value },
    });
    if (!line) return null;
    return `Adjusted the wallet of ${line.bettor_id} by ${line.amount}: its balance is ${line.balance_after}.`;
  }
}
