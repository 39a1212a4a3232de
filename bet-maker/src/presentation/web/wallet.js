// The wallet: the balance (live: `event: wallet` on the bets stream),
// deposits and withdrawals through the payment provider (each PENDING
// until the provider confirms; the sandbox of `make run` does within a
// second), the latest payments, and the statement (the ledger's lines,
// newest first, reloaded on every movement).

import { Problem, fill, h } from './common.js';
import { announce, briefTime, busy, clearRefusal, clockTime, idempotencyKey, money, shortId, showRefusal } from './page.js';

const STATEMENT_PAGE = 20;
const PAYMENTS_SHOWN = 5;
/** How long a pending payment is asked after (the sandbox takes half a
 * second; a real provider may take longer: the stream still updates the
 * balance when it does). */
const FOLLOW_PAYMENT_MS = 120_000;
const FOLLOW_INTERVAL_MS = 1000;

const KINDS = {
  DEPOSIT: 'Deposit',
  WITHDRAWAL: 'Withdrawal',
  WITHDRAWAL_RETURNED: 'Withdrawal returned',
  ADJUSTMENT: 'Adjustment',
  STAKE: 'Stake',
  PAYOUT: 'Payout',
  REFUND: 'Refund',
  CORRECTION: 'Correction',
  CASH_OUT: 'Cash-out',
};
const PAYMENT_STATUS = { PENDING: 'Pending', SUCCEEDED: 'Succeeded', PAID: 'Paid', FAILED: 'Failed' };

const byId = (id) => document.getElementById(id);

export class Wallet {
  /** @param {import('./page.js').Session} session */
  constructor(session) {
    this.session = session;
    this.currency = '';
    this.listeners = [];
    this.payments = new Map();
    /** The payments asked after until decided, and their next ask. */
    this.followed = new Set();
    this.timers = new Map();
    this.keys = { deposit: null, withdraw: null };
    this.statementCursor = null;
    this.ui = {
      balance: byId('balance'),
      form: byId('payment-form'),
      amount: byId('amount'),
      payments: byId('payments'),
      paymentsEmpty: byId('payments-empty'),
      lines: byId('statement-lines'),
      table: byId('statement-table'),
      statementEmpty: byId('statement-empty'),
      more: byId('statement-more'),
    };
    this.ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const button = e.submitter && e.submitter.value ? e.submitter : this.ui.form.querySelector('button[value="deposit"]');
      busy(button, () => this.move(button.value));
    });
    this.ui.amount.addEventListener('input', () => {
      this.keys = { deposit: null, withdraw: null };
      this.ui.amount.removeAttribute('aria-invalid');
    });
    this.ui.more.addEventListener('click', () => busy(this.ui.more, () => this.loadStatement({ more: true })));
  }

  /** Calls `fn(wallet)` on every new balance. */
  onChange(fn) {
    this.listeners.push(fn);
  }

  /** Everything, as the API has it now. */
  async reload() {
    await Promise.all([this.loadBalance(), this.loadPayments(), this.loadStatement()]);
  }

  async loadBalance() {
    try {
      const { data } = await this.session.call('/wallet');
      this.show(data);
    } catch {
      // Shown by whoever signs out; a stream message brings it back.
    }
  }

  /** A new balance: from `GET /wallet` or the stream's `event: wallet`. */
  show(wallet) {
    this.currency = wallet.currency;
    fill(this.ui.balance, money(wallet.balance, wallet.currency));
    for (const fn of this.listeners) fn(wallet);
  }

  /** A movement happened (the stream says so): the statement and the
   * payments follow, once however many movements arrive at once. */
  moved(wallet) {
    this.show(wallet);
    clearTimeout(this.movedTimer);
    this.movedTimer = setTimeout(() => {
      this.loadStatement();
      this.loadPayments();
    }, 150);
  }

  clear() {
    fill(this.ui.balance, '…');
    this.payments.clear();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.followed.clear();
    this.ui.payments.replaceChildren();
    this.ui.lines.replaceChildren();
    this.ui.amount.value = '';
  }

  /** `deposit` or `withdraw` the amount typed, through the provider. */
  async move(kind) {
    clearRefusal();
    const amount = this.ui.amount.value.trim();
    const path = kind === 'withdraw' ? '/wallet/withdrawals' : '/wallet/deposits';
    this.keys[kind] ??= idempotencyKey();
    try {
      const { data: payment } = await this.session.call(path, {
        method: 'POST',
        body: { amount },
        headers: { 'Idempotency-Key': this.keys[kind] },
      });
      this.keys[kind] = null;
      this.ui.amount.value = '';
      payment.kind = kind === 'withdraw' ? 'Withdrawal' : 'Deposit';
      this.showPayment(payment);
      this.follow(payment);
      announce(
        kind === 'withdraw'
          ? `Withdrawal of ${money(payment.amount, payment.currency)} requested: it has left your balance and is paid when the provider confirms.`
          : `Deposit of ${money(payment.amount, payment.currency)} requested: it is credited when the payment provider confirms.`,
      );
    } catch (problem) {
      if (problem instanceof Problem && problem.status !== 0) this.keys[kind] = null;
      if (problem instanceof Problem && problem.status === 422) this.ui.amount.setAttribute('aria-invalid', 'true');
      showRefusal(problem);
    }
  }

  /** Asks after a pending payment until the provider decided it. */
  follow(payment) {
    const path = `${payment.kind === 'Withdrawal' ? '/wallet/withdrawals' : '/wallet/deposits'}/${payment.id}`;
    const until = Date.now() + FOLLOW_PAYMENT_MS;
    this.followed.add(payment.id);
    const ask = async () => {
      this.timers.delete(payment.id);
      if (!this.session.signedIn || !this.followed.has(payment.id)) return;
      try {
        const { data } = await this.session.call(path);
        this.showPayment({ ...data, kind: payment.kind });
      } catch {
        // Asked again below.
      }
      if (this.followed.has(payment.id) && Date.now() < until) {
        this.timers.set(payment.id, setTimeout(ask, FOLLOW_INTERVAL_MS));
      }
    };
    this.timers.set(payment.id, setTimeout(ask, FOLLOW_INTERVAL_MS));
  }

  async loadPayments() {
    try {
      const [deposits, withdrawals] = await Promise.all([
        this.session.call(`/wallet/deposits?limit=${PAYMENTS_SHOWN}`),
        this.session.call(`/wallet/withdrawals?limit=${PAYMENTS_SHOWN}`),
      ]);
      for (const payment of deposits.data.items) this.showPayment({ ...payment, kind: 'Deposit' }, false);
      for (const payment of withdrawals.data.items) this.showPayment({ ...payment, kind: 'Withdrawal' }, false);
      this.renderPayments();
    } catch {
      // The list stays as it was.
    }
  }

  /** A payment as the API says it is now. The first time a followed one
   * is seen decided (by asking after it, or in the list a movement
   * reloads), that is announced, once, and the asking stops. */
  showPayment(payment, render = true) {
    this.payments.set(payment.id, payment);
    if (payment.status !== 'PENDING' && this.followed.delete(payment.id)) {
      clearTimeout(this.timers.get(payment.id));
      this.timers.delete(payment.id);
      const outcome = (PAYMENT_STATUS[payment.status] || payment.status).toLowerCase();
      announce(`${payment.kind} of ${money(payment.amount, payment.currency)}: ${outcome}.`);
    }
    if (render) this.renderPayments();
  }

  renderPayments() {
    const latest = [...this.payments.values()]
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
      .slice(0, PAYMENTS_SHOWN);
    this.ui.payments.replaceChildren(
      ...latest.map((payment) =>
        h(
          'li',
          {},
          h('strong', {}, payment.kind),
          h('span', {}, money(payment.amount, payment.currency)),
          h('span', { class: 'status', 'data-status': payment.status }, PAYMENT_STATUS[payment.status] || payment.status),
          clockTime(payment.created_at),
        ),
      ),
    );
    this.ui.paymentsEmpty.hidden = latest.length > 0;
  }

  /** The statement's first page (or, `more`, the next one). */
  async loadStatement({ more = false } = {}) {
    const cursor = more && this.statementCursor ? `&cursor=${encodeURIComponent(this.statementCursor)}` : '';
    try {
      const { data } = await this.session.call(`/wallet/transactions?limit=${STATEMENT_PAGE}${cursor}`);
      const rows = data.items.map((line) => this.statementRow(line));
      if (more) this.ui.lines.append(...rows);
      else this.ui.lines.replaceChildren(...rows);
      this.statementCursor = data.next_cursor;
      this.ui.more.hidden = !data.next_cursor;
      const none = this.ui.lines.childElementCount === 0;
      this.ui.statementEmpty.hidden = !none;
      this.ui.table.hidden = none;
    } catch (problem) {
      if (more) showRefusal(problem);
    }
  }

  statementRow(line) {
    const what = KINDS[line.kind] || line.kind;
    const about = line.bet_id ? ` · bet ${shortId(line.bet_id)}` : '';
    return h(
      'tr',
      {},
      h('td', {}, briefTime(line.created_at)),
      h('td', {}, what, about),
      h('td', { class: 'money' }, line.amount),
      h('td', { class: 'money' }, line.balance_after),
    );
  }
}
