// Server-Sent Events read with `fetch`, for a stream that needs the
// bettor's token: `EventSource` cannot send an `Authorization` header
// (and a token in the URL would end up in logs), so this reads the
// `text/event-stream` body itself, as the HTML standard parses it, and
// reconnects as EventSource would: after the server's `retry:` (or a
// second, more while failures repeat), sending `Last-Event-ID`, so the
// changes missed meanwhile come first.

import { Problem } from './common.js';

const FIRST_RETRY_MS = 1000;
const MOST_RETRY_MS = 15_000;

/** Splits a stream of text into SSE lines (`\r\n`, `\n` or `\r`), a line
 * split between chunks held until its end arrives. */
class LineSplitter {
  constructor() {
    this.pending = '';
  }

  /** The complete lines of `chunk` (and of what was held). */
  push(chunk) {
    this.pending += chunk;
    const lines = [];
    let start = 0;
    for (let i = 0; i < this.pending.length; i += 1) {
      const char = this.pending[i];
      if (char !== '\n' && char !== '\r') continue;
      // A `\r` at the very end may be the first half of a `\r\n`.
      if (char === '\r' && i === this.pending.length - 1) break;
      lines.push(this.pending.slice(start, i));
      if (char === '\r' && this.pending[i + 1] === '\n') i += 1;
      start = i + 1;
    }
    this.pending = this.pending.slice(start);
    return lines;
  }
}

/**
 * Follows the stream at `url` with `token` until `stop()`.
 *
 * - `onOpen({resumed})` once each connection is answered 200 (`resumed`:
 *   it was asked to resume after a `Last-Event-ID`, so nothing was
 *   missed; otherwise the caller loads what the stream keeps up to date);
 * - `onMessage({type, data, id})` per message (`type` is `message` when
 *   the server names none);
 * - `onReset(data)` on `event: reset`: what was missed cannot be
 *   replayed; the caller reloads. The position is forgotten (a reload
 *   comes after it), so a reconnect starts live;
 * - `onRefused(problem)` when the server refuses the stream with a 4xx
 *   other than 429 (a 401: the token is no longer good). It does not
 *   reconnect then;
 * - `onState(text)` with what it is doing, for the page to show.
 */
export class AuthorizedEventStream {
  constructor(url, { token, onOpen, onMessage, onReset, onRefused, onState }) {
    this.url = url;
    this.token = token;
    this.handlers = { onOpen, onMessage, onReset, onRefused, onState };
    this.lastEventId = null;
    this.retryMs = FIRST_RETRY_MS;
    this.failures = 0;
    this.controller = null;
    this.stopped = false;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller?.abort();
  }

  state(text) {
    this.handlers.onState?.(text);
  }

  async connect() {
    if (this.stopped) return;
    this.controller = new AbortController();
    const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${this.token}` };
    const resumed = this.lastEventId !== null;
    if (resumed) headers['Last-Event-ID'] = this.lastEventId;
    try {
      const response = await fetch(this.url, {
        headers,
        credentials: 'omit',
        cache: 'no-store',
        signal: this.controller.signal,
      });
      if (!response.ok) {
        await this.refused(response);
        return;
      }
      this.failures = 0;
      this.state('Live');
      this.handlers.onOpen?.({ resumed });
      await this.read(response.body);
      // The server ended the stream (a shutdown, or a client too slow).
      this.reconnectLater();
    } catch (error) {
      if (this.stopped || (error && error.name === 'AbortError')) return;
      this.reconnectLater();
    }
  }

  async refused(response) {
    const type = response.headers.get('Content-Type') || '';
    const document = type.startsWith('application/problem+json')
      ? await response.json().catch(() => ({}))
      : { title: `HTTP ${response.status}` };
    const problem = new Problem(document, response.status);
    if (response.status === 400 && this.lastEventId !== null) {
      // A position this server does not know (another deployment's):
      // start again live, and reload.
      this.lastEventId = null;
      this.reconnectLater();
      return;
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      this.state('Stopped');
      this.handlers.onRefused?.(problem);
      return;
    }
    this.reconnectLater();
  }

  reconnectLater() {
    if (this.stopped) return;
    this.failures += 1;
    // The server's `retry:` first, then doubling while failures repeat,
    // with some jitter so that many tabs do not come back at once.
    const backoff = Math.min(MOST_RETRY_MS, this.retryMs * 2 ** Math.max(0, this.failures - 1));
    const delay = backoff / 2 + Math.random() * (backoff / 2);
    this.state('Reconnecting…');
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Reads the body to its end, dispatching each message. */
  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const lines = new LineSplitter();
    let message = { type: '', data: [], id: undefined };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const line of lines.push(value)) {
        if (line === '') {
          this.dispatch(message);
          message = { type: '', data: [], id: undefined };
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: the keep-alive
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'event') message.type = text;
        else if (field === 'data') message.data.push(text);
        else if (field === 'id' && !text.includes('\0')) message.id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) this.retryMs = Number(text);
      }
    }
  }

  dispatch(message) {
    // The position counts even for a message without data (as EventSource's).
    if (message.id !== undefined) this.lastEventId = message.id || null;
    if (message.data.length === 0) return;
    const type = message.type || 'message';
    const data = message.data.join('\n');
    if (type === 'reset') {
      this.lastEventId = null;
      this.handlers.onReset?.(parse(data));
      return;
    }
    this.handlers.onMessage?.({ type, data: parse(data), id: this.lastEventId });
  }
}

function parse(data) {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}
