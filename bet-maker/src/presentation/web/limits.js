// Limits and time-out: the bettor's own deposit limits
// (`/account/limits`: a lower one at once, a higher one or none after 24
// hours) and breaks (`/account/exclusions`: a time-out or a
// self-exclusion, which nobody can end early). A break is taken only
// after a second, explicit confirmation.

import { fill } from './common.js';
import { announce, busy, clearRefusal, money, showRefusal, time } from './page.js';

const PERIODS = [
  { field: 'deposit_daily', input: 'limit-daily', name: 'Daily' },
  { field: 'deposit_weekly', input: 'limit-weekly', name: 'Weekly' },
  { field: 'deposit_monthly', input: 'limit-monthly', name: 'Monthly' },
];
const byId = (id) => document.getElementById(id);

export class Limits {
  /**
   * @param {import('./page.js').Session} session
   * @param {() => string} currency
   */
  constructor(session, currency) {
    this.session = session;
    this.currency = currency;
    this.limits = null;
    this.ui = {
      form: byId('limits-form'),
      save: byId('limits-form').querySelector('button[type="submit"]'),
      exclusionForm: byId('exclusion-form'),
      exclusionState: byId('exclusion-state'),
      length: byId('exclusion-length'),
      take: byId('exclusion-form').querySelector('button[type="submit"]'),
      confirm: byId('exclusion-confirm'),
      confirmText: byId('exclusion-confirm-text'),
      yes: byId('exclusion-confirm-yes'),
      no: byId('exclusion-confirm-no'),
    };
    for (const period of PERIODS) {
      const input = byId(period.input);
      input.addEventListener('input', () => {
        input.dataset.dirty = 'true';
        input.removeAttribute('aria-invalid');
      });
    }
    this.ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(this.ui.save, () => this.save());
    });
    this.ui.length.addEventListener('change', () => this.nameTheBreak());
    this.ui.exclusionForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.askToConfirm();
    });
    this.ui.yes.addEventListener('click', (e) => busy(e.currentTarget, () => this.takeBreak()));
    this.ui.no.addEventListener('click', () => this.closeConfirm());
    this.nameTheBreak();
  }

  async reload() {
    await Promise.all([this.loadLimits(), this.loadExclusions()]);
  }

  async loadLimits() {
    try {
      const { data } = await this.session.call('/account/limits');
      this.show(data);
    } catch {
      // Signed out, or shown on the next try.
    }
  }

  show(limits) {
    this.limits = limits;
    for (const period of PERIODS) {
      const limit = limits[period.field] || {};
      const input = byId(period.input);
      if (input.dataset.dirty !== 'true') input.value = limit.amount ?? '';
      const now = limit.amount ? `Now ${money(limit.amount, this.currency())}` : 'No limit now';
      const pending = limit.pending
        ? [
            `; ${limit.pending.amount ? `becomes ${money(limit.pending.amount, this.currency())}` : 'removed'} from `,
            time(limit.pending.effective_at),
          ]
        : [];
      fill(byId(`${period.input}-state`), now, ...pending, '.');
    }
  }

  async save() {
    clearRefusal();
    const body = {};
    for (const period of PERIODS) {
      const input = byId(period.input);
      if (input.dataset.dirty !== 'true') continue;
      const value = input.value.trim();
      body[period.field] = value === '' ? null : value;
    }
    if (Object.keys(body).length === 0) {
      announce('No limit changed: nothing to save.');
      return;
    }
    try {
      const { data } = await this.session.call('/account/limits', { method: 'PUT', body });
      for (const period of PERIODS) delete byId(period.input).dataset.dirty;
      this.show(data);
      announce('Limits saved.');
    } catch (problem) {
      for (const error of problem.errors || []) {
        const period = PERIODS.find((candidate) => error.field.startsWith(candidate.field));
        if (period) byId(period.input).setAttribute('aria-invalid', 'true');
      }
      showRefusal(problem);
    }
  }

  async loadExclusions() {
    try {
      const { data } = await this.session.call('/account/exclusions');
      this.showExclusions(data.items);
    } catch {
      // Signed out, or shown on the next try.
    }
  }

  showExclusions(exclusions) {
    if (exclusions.length === 0) {
      fill(this.ui.exclusionState, 'No time-out or self-exclusion.');
      return;
    }
    // The one that lasts longest says when betting comes back.
    const lasting = exclusions.find((exclusion) => !exclusion.until) ??
      [...exclusions].sort((a, b) => (a.until < b.until ? 1 : -1))[0];
    const kind = lasting.kind === 'time-out' ? 'On a time-out' : 'Self-excluded';
    if (!lasting.until) fill(this.ui.exclusionState, `${kind} for good: no bets or deposits.`);
    else fill(this.ui.exclusionState, `${kind} until `, time(lasting.until), ': no bets or deposits.');
  }

  /** The break chosen, as the API takes it, and in words. */
  chosen() {
    const [kind, length] = this.ui.length.value.split(':');
    const words = this.ui.length.selectedOptions[0]?.textContent ?? '';
    if (kind === 'time-out') return { body: { kind, hours: Number(length) }, words };
    if (length === 'permanent') return { body: { kind, permanent: true }, words };
    return { body: { kind, months: Number(length) }, words };
  }

  nameTheBreak() {
    fill(this.ui.take, this.chosen().body.kind === 'time-out' ? 'Take a time-out' : 'Self-exclude');
  }

  askToConfirm() {
    clearRefusal();
    const { words } = this.chosen();
    fill(
      this.ui.confirmText,
      `${words}. No bets and no deposits until it ends, and it cannot be ended early. Take it?`,
    );
    this.ui.confirm.hidden = false;
    this.ui.yes.focus();
  }

  closeConfirm() {
    this.ui.confirm.hidden = true;
    this.ui.take.focus();
  }

  async takeBreak() {
    const { body, words } = this.chosen();
    try {
      await this.session.call('/account/exclusions', { method: 'POST', body });
      this.ui.confirm.hidden = true;
      this.ui.take.focus();
      announce(`${words}: taken.`);
      await this.loadExclusions();
    } catch (problem) {
      this.closeConfirm();
      showRefusal(problem);
    }
  }

  clear() {
    for (const period of PERIODS) {
      const input = byId(period.input);
      input.value = '';
      delete input.dataset.dirty;
      fill(byId(`${period.input}-state`));
    }
    this.ui.confirm.hidden = true;
    fill(this.ui.exclusionState, 'No time-out or self-exclusion.');
  }
}
