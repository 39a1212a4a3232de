// Both services as `make run` starts them (the debug binaries, `migrate`
// then `serve`, the settings of the environment and else of .env), but
// on databases, a RabbitMQ vhost, ports and signing keys of their own,
// so that a `make run` on the same machine and other test files running
// at the same time are never in the way; and everything made for them
// removed again by `stop()`.
//
//   const services = await startServices('console');
//   services.lineProvider.url    // http://127.0.0.1:<port>
//   services.operatorToken       // the operator token it was started with
//   await services.stop();       // SIGTERM both, drop the databases and the vhost

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the build, the screenshots and the services' logs go. */
export const TARGET = path.join(REPO, 'target');
const BINARIES = path.join(TARGET, 'debug');
/** The services' logs of the latest run: `<label>-<service>.log`. */
export const LOGS = path.join(TARGET, 'browser', 'logs');
/** How long anything may take to happen (start, stop, readiness). */
export const PATIENCE_MS = 30_000;

/**
 * Reads `.env` as scripts/dotenv.sh does: `KEY=VALUE` lines (an optional
 * `export`, quotes around the value dropped), comments and blank lines
 * skipped. Returns the pairs; the caller lets the environment win.
 *
 * @param {string} file
 * @returns {Record<string, string>}
 */
export function readDotenv(file) {
  const pairs = {};
  if (!existsSync(file)) return pairs;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) continue;
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2];
    const quoted = /^"(.*)"$/.exec(value) || /^'(.*)'$/.exec(value);
    if (quoted) value = quoted[1];
    pairs[match[1]] = value;
  }
  return pairs;
}

/** Runs a command to its end; rejects with its output when it fails. */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      if (error) {
        const output = `${stdout}${stderr}`.trim();
        reject(new Error(`${command} ${args.join(' ')} failed (${error.code ?? error.signal}): ${output || error.message}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** `url` (a PostgreSQL or AMQP URL) with another path: a database or a vhost. */
function withPath(url, name) {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

/** The path of a workspace binary, or a clear failure if it is not built. */
function binary(name) {
  const file = path.join(BINARIES, name);
  if (!existsSync(file)) {
    throw new Error(`${file} is not built: run \`make test-browser\` (it runs cargo build --workspace --bins)`);
  }
  return file;
}

/** A started service: its process, its log, and where it listens. */
class ServiceProcess {
  constructor(name, child, logFile) {
    this.name = name;
    this.child = child;
    this.logFile = logFile;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.running = true;
    this.exited.then(() => {
      this.running = false;
    });
  }

  /**
   * Starts `<binary> serve`, its output to `logFile`, and resolves once
   * it has said where it listens (its `listening` log line: every
   * listener is on port 0) and `/health/ready` answers 200.
   */
  static async start(name, env, logFile) {
    const child = spawn(binary(name), ['serve'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const service = new ServiceProcess(name, child, logFile);
    // If this process ends without stop() (a crash), the service goes too.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    const log = createWriteStream(logFile);
    const listening = new Promise((resolve) => {
      let pending = '';
      const scan = (chunk) => {
        log.write(chunk);
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const line of lines) {
          const fields = parseJson(line);
          if (fields && typeof fields.message === 'string' && fields.message.startsWith('listening')) resolve(fields);
        }
      };
      child.stdout.on('data', scan);
      child.stderr.on('data', scan);
    });
    child.once('exit', () => log.end());
    const fields = await Promise.race([
      listening,
      service.exited.then(({ code, signal }) => {
        throw new Error(`${name} stopped before listening (${code ?? signal}); its log: ${logFile}\n${tail(logFile)}`);
      }),
      deadline(PATIENCE_MS).then(() => {
        throw new Error(`${name} did not say where it listens within ${PATIENCE_MS} ms; its log: ${logFile}`);
      }),
    ]);
    service.url = `http://${fields.address}`;
    service.managementUrl = `http://${fields.management_address}`;
    service.grpcAddress = fields.grpc_address;
    await service.waitUntilReady();
    return service;
  }

  async waitUntilReady() {
    const deadline = Date.now() + PATIENCE_MS;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} stopped while starting; its log: ${this.logFile}\n${tail(this.logFile)}`);
      try {
        const response = await fetch(`${this.url}/health/ready`);
        if (response.status === 200) return;
        last = `${response.status} ${await response.text()}`;
      } catch (error) {
        last = error.message;
      }
      await delay(100);
    }
    throw new Error(`${this.name} was not ready within ${PATIENCE_MS} ms (${last}); its log: ${this.logFile}`);
  }

  /** SIGTERM, and waits for the exit; SIGKILL after PATIENCE_MS. */
  async stop() {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const outcome = await Promise.race([this.exited, deadline(PATIENCE_MS).then(() => null)]);
    if (outcome === null) {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`${this.name} did not stop within ${PATIENCE_MS} ms of SIGTERM; its log: ${this.logFile}`);
    }
    if (outcome.code !== 0) {
      throw new Error(`${this.name} exited with ${outcome.code ?? outcome.signal} on SIGTERM; its log: ${this.logFile}`);
    }
  }
}

function parseJson(line) {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** {@link delay} for a race: its timer does not keep the process alive
 * once everything else is done. */
function deadline(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** What `stop()` must undo, last made first undone; every step is tried. */
class CleanUp {
  constructor() {
    this.steps = [];
  }

  add(what, step) {
    this.steps.push({ what, step });
  }

  async run() {
    const failures = [];
    for (const { what, step } of this.steps.reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(`${what}: ${error.message}`);
      }
    }
    this.steps = [];
    if (failures.length) throw new Error(`cleaning up after the browser tests:\n  ${failures.join('\n  ')}`);
  }
}

/**
 * Starts line-provider and bet-maker for one test file. `label` names its
 * logs (`target/browser/logs/<label>-line-provider.log`) and prefixes its
 * databases and vhost.
 *
 * @param {string} label letters, digits and `_`
 * @param {{betMakerEnv?: Record<string, string>}} [options] settings of
 *   bet-maker's that win over the ones above (`BET_MAKER_DEV_SIGN_IN: 'false'`)
 */
export async function startServices(label, { betMakerEnv: betMakerOverrides = {} } = {}) {
  const settings = { ...readDotenv(path.join(REPO, '.env')), ...process.env };
  const id = `browser_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const cleanUp = new CleanUp();
  const signals = stopOnSignals(cleanUp);
  try {
    await mkdir(LOGS, { recursive: true });
    const operatorToken = randomBytes(32).toString('hex');
    const amqpUrl = await ownVhost(settings.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/%2f', id, cleanUp);
    const lineProviderDatabase = await ownDatabase(
      settings.LINE_PROVIDER_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/line_provider',
      `${id}_line_provider`,
      cleanUp,
    );
    const betMakerDatabase = await ownDatabase(
      settings.BET_MAKER_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/bet_maker',
      `${id}_bet_maker`,
      cleanUp,
    );
    const keys = await mkdtemp(path.join(tmpdir(), `${id}-keys-`));
    cleanUp.add(`removing ${keys}`, () => rm(keys, { recursive: true, force: true }));
    await run(binary('line-provider'), ['keygen', keys], { cwd: REPO });

    // Every listener on port 0 (the services say which port they got),
    // on loopback; JSON logs, for reading that line.
    const common = {
      ...settings,
      AMQP_URL: amqpUrl,
      MANAGEMENT_BIND: '127.0.0.1',
      LOG_FORMAT: 'json',
      RUST_LOG: settings.RUST_LOG || 'info,sqlx=warn,sea_orm=warn',
    };
    const lineProviderEnv = {
      ...common,
      LINE_PROVIDER_DATABASE_URL: lineProviderDatabase,
      LINE_PROVIDER_DB_POOL_SIZE: '3',
      LINE_PROVIDER_HOST: '127.0.0.1',
      LINE_PROVIDER_PORT: '0',
      LINE_PROVIDER_GRPC_PORT: '0',
      LINE_PROVIDER_ADMIN_PORT: '0',
      LINE_PROVIDER_ADMIN_TOKEN: operatorToken,
      LINE_EVENTS_SIGNING_KEY_FILE: path.join(keys, 'line-events.key'),
    };
    const betMakerEnv = {
      ...common,
      BET_MAKER_DATABASE_URL: betMakerDatabase,
      BET_MAKER_DB_POOL_SIZE: '3',
      BET_MAKER_HOST: '127.0.0.1',
      BET_MAKER_PORT: '0',
      BET_MAKER_ADMIN_PORT: '0',
      LINE_EVENTS_VERIFY_KEY_FILES: path.join(keys, 'line-events.pub'),
      BET_MAKER_JWT_SECRET: settings.BET_MAKER_JWT_SECRET || randomBytes(32).toString('hex'),
      // As scripts/run.sh: bet-maker plays the payment provider itself,
      // and the development sign-in is on.
      BET_MAKER_PAYMENTS_PROVIDER: settings.BET_MAKER_PAYMENTS_PROVIDER || 'sandbox',
      BET_MAKER_DEV_SIGN_IN: settings.BET_MAKER_DEV_SIGN_IN || 'true',
      ...betMakerOverrides,
    };

    await Promise.all([
      run(binary('line-provider'), ['migrate'], { cwd: REPO, env: lineProviderEnv }),
      run(binary('bet-maker'), ['migrate'], { cwd: REPO, env: betMakerEnv }),
    ]);
    const lineProvider = await ServiceProcess.start('line-provider', lineProviderEnv, path.join(LOGS, `${label}-line-provider.log`));
    cleanUp.add('stopping line-provider', () => lineProvider.stop());
    betMakerEnv.LINE_PROVIDER_GRPC_URL = `http://${lineProvider.grpcAddress}`;
    const betMaker = await ServiceProcess.start('bet-maker', betMakerEnv, path.join(LOGS, `${label}-bet-maker.log`));
    cleanUp.add('stopping bet-maker', () => betMaker.stop());

    return {
      id,
      operatorToken,
      lineProvider: { url: lineProvider.url, managementUrl: lineProvider.managementUrl, grpcAddress: lineProvider.grpcAddress, env: lineProviderEnv },
      betMaker: { url: betMaker.url, managementUrl: betMaker.managementUrl, env: betMakerEnv },
      /** A bettor's token (`bet-maker token <name> [--scope ...]`). */
      async bettorToken(name, scope) {
        const args = ['token', name, ...(scope ? ['--scope', scope] : [])];
        return (await run(binary('bet-maker'), args, { cwd: REPO, env: betMakerEnv })).trim();
      },
      /** A staff member's token (`bet-maker token <name> --scope "<scopes>"`),
       * `scopes` space-separated: `trader cashier`. */
      async staffToken(name, scopes) {
        const args = ['token', name, '--scope', scopes];
        return (await run(binary('bet-maker'), args, { cwd: REPO, env: betMakerEnv })).trim();
      },
      /** Stops both services and removes what was made for them. */
      async stop() {
        signals.remove();
        await cleanUp.run();
      },
    };
  } catch (error) {
    signals.remove();
    await cleanUp.run().catch((cleanUpError) => {
      error.message += `\n${cleanUpError.message}`;
    });
    throw error;
  }
}

/** A database named `name` where `url` points, dropped at clean-up
 * (`migrate` creates it). */
async function ownDatabase(url, name, cleanUp) {
  const server = withPath(url, 'postgres');
  cleanUp.add(`dropping the database ${name}`, () =>
    run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', server, '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`]),
  );
  return withPath(url, name);
}

/** A vhost of its own on the broker of `url` (with rabbitmqctl, so the
 * broker must run on this machine), the URL's user allowed everything in
 * it; deleted at clean-up with all that the services declared there. */
async function ownVhost(url, vhost, cleanUp) {
  const parsed = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    throw new Error(
      `the browser tests make a RabbitMQ vhost of their own with rabbitmqctl, which needs the broker on this machine; AMQP_URL names ${parsed.hostname}`,
    );
  }
  const user = decodeURIComponent(parsed.username) || 'guest';
  await run('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  cleanUp.add(`deleting the vhost ${vhost}`, () => run('rabbitmqctl', ['-q', 'delete_vhost', vhost]));
  await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, user, '.*', '.*', '.*']);
  return withPath(url, vhost);
}

/** Cleans up on Ctrl-C (or SIGTERM) too, then exits. */
function stopOnSignals(cleanUp) {
  const handler = (signal) => {
    cleanUp
      .run()
      .catch((error) => console.error(error.message))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return {
    remove() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
