// What every page of the platform shares: a client for the service's own
// REST API that turns every refusal into the API's problem document
// (RFC 9457), a way to show one in a `role="alert"` region, a few DOM
// helpers that never parse HTML, a button busy while its call runs,
// polling while the tab is visible, and a value kept for the tab's
// session.
//
// Served by each service from shared-kernel (`shared_kernel::web`), so a
// page imports it from its own origin: `import { api } from './common.js'`.

/** A refusal: the API's problem document, or one made here when the
 * answer was none (no answer at all, or not a problem document). */
export class Problem extends Error {
  /**
   * @param {{type?: string, title?: string, status?: number, detail?: string,
   *          errors?: {field: string, message: string}[]}} document
   * @param {number} status the HTTP status, 0 when nothing answered
   */
  constructor(document, status) {
    super(document.detail || document.title || `HTTP ${status}`);
    this.name = 'Problem';
    this.document = document;
    this.status = status;
  }

  get title() {
    return this.document.title || `HTTP ${this.status}`;
  }

  get detail() {
    return this.document.detail || '';
  }

  /** @returns {{field: string, message: string}[]} */
  get errors() {
    return Array.isArray(this.document.errors) ? this.document.errors : [];
  }
}

/**
 * Calls the service's API at `path` (same origin, never with cookies: a
 * credential travels only as `token`, in `Authorization: Bearer`).
 * Resolves to `{data, etag, response}` on 2xx; rejects with a
 * {@link Problem} otherwise.
 *
 * @param {string} path
 * @param {{method?: string, token?: string|null, body?: unknown,
 *          headers?: Record<string, string>, signal?: AbortSignal}} [options]
 */
export async function api(path, { method = 'GET', token = null, body, headers = {}, signal } = {}) {
  const init = {
    method,
    headers: { Accept: 'application/json, application/problem+json', ...headers },
    credentials: 'omit',
    cache: 'no-store',
    signal,
  };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new Problem(
      { title: 'No answer', detail: `The service did not answer (${error && error.message}).` },
      0,
    );
  }
  const type = response.headers.get('Content-Type') || '';
  if (response.ok) {
    const data = response.status === 204 ? null : type.includes('json') ? await response.json() : await response.text();
    return { data, etag: response.headers.get('ETag'), response };
  }
  if (type.startsWith('application/problem+json')) {
    throw new Problem(await response.json(), response.status);
  }
  throw new Problem(
    { title: `HTTP ${response.status}`, detail: response.statusText || 'The answer was not a problem document.' },
    response.status,
  );
}

/**
 * Makes an element: `h('button', {type: 'button', class: 'x'}, 'Suspend')`.
 * Attributes are set as attributes (a `data-*`, an `aria-*`); functions
 * under `on` become listeners (never inline handlers); children are
 * nodes or text (never parsed as HTML).
 *
 * @param {string} tag
 * @param {Record<string, unknown>} [attributes]
 * @param {...(Node|string|number|null|undefined|false)} children
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'on') {
      for (const [event, listener] of Object.entries(value)) element.addEventListener(event, listener);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content with `children` (text or nodes). */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/**
 * Shows `problem` in `region` (a `role="alert"` element): its title, its
 * detail, and each invalid field, as the API said them.
 *
 * @param {HTMLElement} region
 * @param {Problem|Error} problem
 */
export function showProblem(region, problem) {
  const found = problem instanceof Problem ? problem : new Problem({ title: 'Error', detail: String(problem.message || problem) }, 0);
  const errors = found.errors.map((error) => h('li', {}, h('code', {}, error.field), ': ', error.message));
  fill(
    region,
    h('p', { class: 'problem-title' }, found.title),
    found.detail ? h('p', { class: 'problem-detail' }, found.detail) : null,
    errors.length ? h('ul', { class: 'problem-errors' }, errors) : null,
  );
  region.classList.add('shown');
}

/** Empties an alert region. */
export function clearProblem(region) {
  region.replaceChildren();
  region.classList.remove('shown');
}

/** Runs `call` unless `button`'s last call is still running (no double
 * submission). The button is marked `aria-disabled`, not `disabled`: a
 * disabled button would drop the keyboard focus. */
export async function busy(button, call) {
  if (button.getAttribute('aria-disabled') === 'true') return null;
  button.setAttribute('aria-disabled', 'true');
  try {
    return await call();
  } finally {
    button.removeAttribute('aria-disabled');
  }
}

/**
 * Runs `task` now and then every `intervalMs` after it finishes, but only
 * while the tab is visible (a hidden tab costs the service nothing); at
 * once again when it becomes visible. `refresh()` runs it now.
 *
 * @param {() => Promise<void>} task
 * @param {number} intervalMs
 */
export function pollWhileVisible(task, intervalMs) {
  let timer = null;
  let running = false;
  let again = false;
  let stopped = false;
  const visible = () => document.visibilityState === 'visible';
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  const schedule = (delay) => {
    cancel();
    if (!stopped && visible()) timer = setTimeout(run, delay);
  };
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await task();
    } finally {
      running = false;
      schedule(again ? 0 : intervalMs);
      again = false;
    }
  };
  const onVisibility = () => (visible() ? schedule(0) : cancel());
  document.addEventListener('visibilitychange', onVisibility);
  schedule(0);
  return {
    refresh: () => schedule(0),
    stop: () => {
      stopped = true;
      cancel();
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}

/**
 * A value kept for this tab's session only (`sessionStorage`: gone when
 * the tab closes, never sent anywhere by the browser on its own).
 *
 * @param {string} key
 */
export function sessionValue(key) {
  return {
    get() {
      try {
        return window.sessionStorage.getItem(key);
      } catch {
        return null;
      }
    },
    set(value) {
      try {
        window.sessionStorage.setItem(key, value);
      } catch {
        // Storage refused (a private mode): the value lives until reload.
      }
    },
    clear() {
      try {
        window.sessionStorage.removeItem(key);
      } catch {
        // Nothing kept, nothing to clear.
      }
    },
  };
}
