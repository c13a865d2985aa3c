/*
 * The browser test harness: real Chromium pages (Debian's /usr/bin/chromium driven by
 * playwright-core) against a real build/hearthd, all on loopback.
 *
 * For each test it starts a fresh hearthd (dev profile, port 0 with --port-file, a temp data
 * dir). hearthd serves the demo page at /demo/ and the SDK at /sdk/hearth.js itself, so the
 * pages load from hearthd's origin and fetch their tickets from it; nothing else is started.
 *
 * Every page is its own Chromium process with a fresh user-data dir and the exact command line
 * of shared/PEERS.md (ignoreDefaultArgs, fake camera and microphone, loopback candidates).
 * run.mjs re-executes the whole run inside a network namespace that has only `lo` (when it can),
 * so no candidate or packet leaves 127.0.0.1.
 *
 * Environment: HEARTH_BUILD_DIR (default <repo>/build), CHROMIUM (default /usr/bin/chromium),
 * HEARTHD_ARGS (extra hearthd arguments, split on spaces), HEARTH_KEEP_LOGS=1 (keep temp dirs
 * and print where). A test may pass hearthd more environment (e.g. HX_ENGINE_DEBUG=1, which
 * makes the engine print per-transport counters every 2 s to the log) through withEnv().
 */
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
const buildDir = process.env.HEARTH_BUILD_DIR || path.join(repoRoot, 'build');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

/** Resolves after `ms` milliseconds. */
export const sleep = ms => new Promise(r => setTimeout(r, ms));

function tmpDir(prefix) {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/* ---- hearthd ---------------------------------------------------------------------------- */

/** A running hearthd; `base` is its http://127.0.0.1:PORT. */
export class Hearthd {
    /**
     * @param {object} [env] extra environment for the hearthd process
     * @param {string[]} [args] extra hearthd arguments (e.g. ['--set', 'media.x=1'])
     * @param {object} [options]
     * @param {{cert: string, key: string}} [options.tls] serve https/wss with this certificate
     *     (tls.cert_file, tls.key_file; tls.mjs makes one); `base` is then https://
     * @param {boolean} [options.defaultWorkers] hearthd's own media workers (one process per
     *     core); otherwise one in hearthd (`media.workers=1`) unless args set it
     */
    constructor(env = {}, args = [], {tls = null, defaultWorkers = false} = {}) {
        this.env = env;
        this.tls = tls;
        if (!defaultWorkers) args = ['--set', 'media.workers=1', ...args];
        this.args = tls ? [...args, '--set', `tls.cert_file=${tls.cert}`, '--set',
                           `tls.key_file=${tls.key}`] : args;
        this.dir = tmpDir('hearth-browser-hearthd-');
        this.logPath = path.join(this.dir, 'hearthd.log');
        this.proc = null;
        this.port = null;
        this.restartArgs = []; /* restart(): the first run's media ports */
    }

    get base() {
        return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    }

    /** GET a path of this hearthd (trusting its own certificate under TLS): its status code. */
    getStatus(pathname) {
        if (!this.tls) return fetch(`${this.base}${pathname}`).then(r => r.status);
        return new Promise((resolve, reject) => {
            const req = https.get(`${this.base}${pathname}`,
                                  {ca: fs.readFileSync(this.tls.cert)}, res => {
                                      res.resume();
                                      resolve(res.statusCode);
                                  });
            req.on('error', reject);
        });
    }

    async start(timeoutMs = 10000) {
        const binary = path.join(buildDir, 'hearthd');
        if (!fs.existsSync(binary))
            throw new Error(`${binary} does not exist: build hearthd first`);
        const portFile = path.join(this.dir, 'port');
        const dataDir = path.join(this.dir, 'data');
        fs.mkdirSync(dataDir, {recursive: true}); /* kept by restart() */
        fs.rmSync(portFile, {force: true});
        const extra = (process.env.HEARTHD_ARGS || '').split(' ').filter(Boolean);
        const args = [
            '--profile', 'dev', '--listen', `127.0.0.1:${this.port ?? 0}`, '--port-file', portFile,
            '--data-dir', dataDir, ...extra, ...this.args, ...this.restartArgs
        ];
        const log = fs.openSync(this.logPath, 'a');
        this.proc = spawn(
            binary, args,
            {cwd: this.dir, env: {...process.env, ...this.env}, stdio: ['ignore', log, log]});
        fs.closeSync(log);
        let exited = null;
        this.proc.on('exit', code => {
            exited = code;
        });
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (exited !== null)
                throw new Error(`hearthd exited with ${exited}:\n${this.logTail()}`);
            if (this.port === null && fs.existsSync(portFile)) {
                const p = Number(fs.readFileSync(portFile, 'utf8').trim().split(':').pop());
                if (p > 0 && p < 65536) this.port = p;
            }
            if (this.port !== null) {
                try {
                    if (await this.getStatus('/readyz') === 200) return this;
                } catch {
                    /* not listening yet */
                }
            }
            await sleep(50);
        }
        throw new Error(`hearthd not ready within ${timeoutMs} ms:\n${this.logTail()}`);
    }

    /** The whole log so far (stdout and stderr), or ''. */
    log() {
        try {
            return fs.readFileSync(this.logPath, 'utf8');
        } catch {
            return '';
        }
    }

    logTail(lines = 30) {
        return this.log().split('\n').slice(-lines).join('\n') || '(no log)';
    }

    /** The media engine's UDP port, from the log line `media.ready ... udp_port=N`. */
    mediaPort() {
        const m = /media\.ready .*udp_port=(\d+)/.exec(this.log());
        if (!m) throw new Error(`no media.ready line in hearthd's log:\n${this.logTail()}`);
        return Number(m[1]);
    }

    /**
     * Sends `signal` to hearthd and waits for it to exit (SIGKILL after `timeoutMs`); resolves
     * with {code, signal} of the exit.
     */
    async kill(signal = 'SIGTERM', timeoutMs = 15000) {
        const proc = this.proc;
        this.proc = null;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null)
            return proc ? {code: proc.exitCode, signal: proc.signalCode} : null;
        const gone = new Promise(r => proc.once('exit', (code, sig) => r({code, signal: sig})));
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
        const exit = await gone;
        clearTimeout(timer);
        return exit;
    }

    /**
     * Restarts hearthd as an operator would: `signal` (SIGTERM: it drains and exits; SIGKILL:
     * kill -9), then the same binary again on the same HTTP port, media ports and data dir (its
     * store, keys and resume state survive). Resolves with {signal, exit: {code, signal},
     * stoppedAt, readyAt} (Date.now(); readyAt: when /readyz answered 200 again).
     */
    async restart({signal = 'SIGTERM', timeoutMs = 15000} = {}) {
        const m = /media\.ready .*udp_port=(\d+)(?: tcp_port=(\d+))?/.exec(this.log());
        if (m && !this.restartArgs.length) {
            this.restartArgs = ['--set', `media.port=${m[1]}`];
            if (m[2] && Number(m[2]) > 0) this.restartArgs.push('--set', `media.tcp_port=${m[2]}`);
        }
        const exit = await this.kill(signal, timeoutMs);
        const stoppedAt = Date.now();
        await this.start();
        return {signal, exit, stoppedAt, readyAt: Date.now()};
    }

    /** True while the process runs. */
    get running() {
        return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
    }

    async stop() {
        const proc = this.proc;
        this.proc = null;
        if (!proc || proc.exitCode !== null) return;
        const gone = new Promise(r => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
    }
}

/* ---- Chromium ----------------------------------------------------------------------------- */

/* shared/PEERS.md: the whole command line, or Playwright's own --disable-features wins. */
function chromiumArgs(userDataDir, extra = []) {
    return [...extra,
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${userDataDir}`, '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream', '--remote-debugging-pipe', '--no-default-browser-check',
        '--mute-audio', '--autoplay-policy=no-user-gesture-required',
        '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
        'about:blank'
    ];
}

/**
 * One browser with one page; `console` collects the page's console and errors. `executable` (a
 * wrapper, e.g. one that drops privileges) and `profile` (its user data dir) replace Chromium
 * and a fresh temp dir; `dir` is removed at close (default: the profile). `args`: more Chromium
 * flags (e.g. `--ignore-certificate-errors-spki-list=...` to trust a test's own certificate).
 */
export async function openBrowserPage(name, {executable = chromiumPath, profile, dir, args = []} = {}) {
    const userData = profile || tmpDir(`hearth-browser-${name}-`);
    const top = dir || userData;
    let context;
    try {
        context = await chromium.launchPersistentContext(userData, {
            executablePath: executable,
            ignoreDefaultArgs: true,
            args: chromiumArgs(userData, args),
            timeout: 30000,
        });
    } catch (e) {
        fs.rmSync(top, {recursive: true, force: true});
        throw e;
    }
    const page = context.pages()[0] || await context.newPage();
    const consoleLines = [];
    page.on('console', m => consoleLines.push(`[${name}] ${m.type()}: ${m.text()}`));
    page.on('pageerror', e => consoleLines.push(`[${name}] pageerror: ${e.message}`));
    return {
        name,
        page,
        console: consoleLines,
        async close() {
            await context.close().catch(() => {});
            fs.rmSync(top, {recursive: true, force: true});
        },
    };
}

/* ---- one test's world ----------------------------------------------------------------------- */

/**
 * Starts hearthd (with `hearthdEnv` added to its environment and `hearthdArgs` to its command
 * line; `tls` {cert, key}: serving https/wss), hands `fn` an env with
 * `demoUrl(params)` and `openDemo(name, params)`, and stops everything afterwards, whatever
 * happens.
 */
export async function withEnv(fn, {hearthdEnv = {}, hearthdArgs = [], tls = null,
                                    defaultWorkers = false} = {}) {
    /* The engine's per-transport counters land in the log tail a failure prints. */
    const hearthd = await new Hearthd({HX_ENGINE_DEBUG: '1', ...hearthdEnv}, hearthdArgs,
                                      {tls, defaultWorkers}).start();
    const pages = [];
    const env = {
        hearthd,
        pageBase: hearthd.base,
        demoUrl(params = {}) {
            return `${env.pageBase}/demo/?${new URLSearchParams(params)}`;
        },
        /* before(page): runs before the navigation (init scripts, routes); args: Chromium flags */
        async openDemo(name, params = {}, {before, args} = {}) {
            const p = await openBrowserPage(name, {args});
            pages.push(p);
            if (before) await before(p.page);
            await p.page.goto(env.demoUrl(params));
            await p.page.waitForFunction(
                () => window.hearthDemo !== undefined, null, {timeout: 10000});
            return p;
        },
    };
    try {
        return await fn(env);
    } catch (e) {
        const lines = pages.flatMap(p => p.console).slice(-40);
        e.message += `\n--- page console ---\n${lines.join('\n')}\n--- hearthd log ---\n${
            hearthd.logTail(40)}`;
        throw e;
    } finally {
        await Promise.all(pages.map(p => p.close()));
        await hearthd.stop();
        if (process.env.HEARTH_KEEP_LOGS === '1')
            console.log(`  hearthd dir kept: ${hearthd.dir}`);
        else
            fs.rmSync(hearthd.dir, {recursive: true, force: true});
    }
}

/** Thrown by a test that cannot run here (the runner reports it as skipped, with the reason). */
export class Skip extends Error {
    constructor(reason) {
        super(reason);
        this.name = 'Skip';
    }
}

/**
 * Evaluates `fn(arg)` in the page (it may be async) every 100 ms until it returns a truthy
 * value, and returns that value; throws after `timeout` ms, naming `what`.
 */
export async function until(page, fn, arg, {timeout = 15000, what = 'condition'} = {}) {
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
        try {
            const v = await page.evaluate(fn, arg);
            if (v) return v;
            last = v;
        } catch (e) {
            last = e.message;
        }
        if (Date.now() > deadline)
            throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${
                JSON.stringify(last)})`);
        await sleep(100);
    }
}
