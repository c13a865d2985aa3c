/*
 * The browser test harness: real Chromium pages (Debian's /usr/bin/chromium driven by
 * playwright-core) against a real build/hearthd, all on loopback.
 *
 * For each test it starts a fresh hearthd (dev profile, port 0 with --port-file, a temp data
 * dir) and a small static server that serves clients/js the way hearthd will (/demo/ and
 * /sdk/hearth.js). hearthd sends no CORS headers, so the static server also forwards
 * /v1/join-tickets to hearthd: the page then fetches its ticket from its own origin, and the
 * ticket's signal_url (built from the Host header, which we pass through as hearthd's) points
 * the WebSocket straight at hearthd. Once hearthd serves /demo/ itself, HEARTH_DEMO_FROM=hearthd
 * loads the pages from hearthd and the static server is not started.
 *
 * Every page is its own Chromium process with a fresh user-data dir and the exact command line
 * of shared/PEERS.md (ignoreDefaultArgs, fake camera and microphone, loopback candidates).
 * run.mjs re-executes the whole run inside a network namespace that has only `lo` (when it can),
 * so no candidate or packet leaves 127.0.0.1.
 *
 * Environment: HEARTH_BUILD_DIR (default <repo>/build), CHROMIUM (default /usr/bin/chromium),
 * HEARTHD_ARGS (extra hearthd arguments, split on spaces), HEARTH_DEMO_FROM=static|hearthd,
 * HEARTH_KEEP_LOGS=1 (keep temp dirs and print where).
 */
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
const clientsDir = path.join(repoRoot, 'clients', 'js');
const buildDir = process.env.HEARTH_BUILD_DIR || path.join(repoRoot, 'build');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

const sleep = ms => new Promise(r => setTimeout(r, ms));

function tmpDir(prefix) {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/* ---- hearthd ---------------------------------------------------------------------------- */

/** A running hearthd; `base` is its http://127.0.0.1:PORT. */
export class Hearthd {
    constructor() {
        this.dir = tmpDir('hearth-browser-hearthd-');
        this.logPath = path.join(this.dir, 'hearthd.log');
        this.proc = null;
        this.port = null;
    }

    get base() {
        return `http://127.0.0.1:${this.port}`;
    }

    async start(timeoutMs = 10000) {
        const binary = path.join(buildDir, 'hearthd');
        if (!fs.existsSync(binary))
            throw new Error(`${binary} does not exist: build hearthd first`);
        const portFile = path.join(this.dir, 'port');
        const dataDir = path.join(this.dir, 'data');
        fs.mkdirSync(dataDir);
        const extra = (process.env.HEARTHD_ARGS || '').split(' ').filter(Boolean);
        const args = [
            '--profile', 'dev', '--listen', '127.0.0.1:0', '--port-file', portFile, '--data-dir',
            dataDir, ...extra
        ];
        const log = fs.openSync(this.logPath, 'a');
        this.proc = spawn(binary, args, {cwd: this.dir, stdio: ['ignore', log, log]});
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
                    const r = await fetch(`${this.base}/readyz`);
                    if (r.status === 200) return this;
                } catch {
                    /* not listening yet */
                }
            }
            await sleep(50);
        }
        throw new Error(`hearthd not ready within ${timeoutMs} ms:\n${this.logTail()}`);
    }

    logTail(lines = 30) {
        try {
            return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
        } catch {
            return '(no log)';
        }
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

/* ---- the static server for clients/js --------------------------------------------------- */

const TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8'
};

/* /demo/... -> clients/js/demo/..., /sdk/hearth.js -> clients/js/hearth.js; null otherwise. */
function staticFile(urlPath) {
    let rel = null;
    if (urlPath === '/demo' || urlPath === '/demo/')
        rel = 'demo/index.html';
    else if (urlPath.startsWith('/demo/'))
        rel = 'demo/' + urlPath.slice('/demo/'.length);
    else if (urlPath === '/sdk/hearth.js')
        rel = 'hearth.js';
    if (!rel) return null;
    const file = path.resolve(clientsDir, decodeURIComponent(rel));
    if (!file.startsWith(clientsDir + path.sep)) return null;
    return file;
}

function forward(req, res, target, body) {
    const up = http.request(
        {
            host: '127.0.0.1',
            port: target.port,
            method: req.method,
            path: req.url,
            headers: {...req.headers, host: `127.0.0.1:${target.port}`}
        },
        upRes => {
            res.writeHead(upRes.statusCode, upRes.headers);
            upRes.pipe(res);
        });
    up.on('error', e => {
        res.writeHead(502, {'content-type': 'text/plain'});
        res.end(`hearthd: ${e.message}`);
    });
    up.end(body);
}

/** Serves /demo/ and /sdk/hearth.js from clients/js and forwards /v1/ and health to hearthd. */
export async function startStatic(hearthd) {
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', c => chunks.push(c));
        req.on('end', () => {
            const urlPath = new URL(req.url, 'http://x').pathname;
            if (urlPath.startsWith('/v1/') || urlPath === '/healthz' || urlPath === '/readyz')
                return forward(req, res, hearthd, Buffer.concat(chunks));
            const file = staticFile(urlPath);
            if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
                res.writeHead(404, {'content-type': 'text/plain'});
                return res.end('not found');
            }
            res.writeHead(200, {
                'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
                'cache-control': 'no-store'
            });
            fs.createReadStream(file).pipe(res);
        });
    });
    await new Promise(r => server.listen(0, '127.0.0.1', r));
    return {
        base: `http://127.0.0.1:${server.address().port}`,
        stop: () => new Promise(r => server.close(r))
    };
}

/* ---- Chromium ----------------------------------------------------------------------------- */

/* shared/PEERS.md: the whole command line, or Playwright's own --disable-features wins. */
function chromiumArgs(userDataDir) {
    return [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${userDataDir}`, '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream', '--remote-debugging-pipe', '--no-default-browser-check',
        '--mute-audio', '--autoplay-policy=no-user-gesture-required',
        '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
        'about:blank'
    ];
}

/** One browser with one page; `console` collects the page's console and errors. */
export async function openBrowserPage(name) {
    const dir = tmpDir(`hearth-browser-${name}-`);
    const context = await chromium.launchPersistentContext(dir, {
        executablePath: chromiumPath,
        ignoreDefaultArgs: true,
        args: chromiumArgs(dir),
        timeout: 30000,
    });
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
            fs.rmSync(dir, {recursive: true, force: true});
        },
    };
}

/* ---- one test's world ----------------------------------------------------------------------- */

/**
 * Starts hearthd (and the static server), hands `fn` an env with `demoUrl(params)` and
 * `openDemo(name, params)`, and stops everything afterwards, whatever happens.
 */
export async function withEnv(fn) {
    const hearthd = await new Hearthd().start();
    const fromHearthd = process.env.HEARTH_DEMO_FROM === 'hearthd';
    const web = fromHearthd ? null : await startStatic(hearthd);
    const pages = [];
    const env = {
        hearthd,
        pageBase: fromHearthd ? hearthd.base : web.base,
        demoUrl(params = {}) {
            return `${env.pageBase}/demo/?${new URLSearchParams(params)}`;
        },
        /* before(page): runs before the navigation (init scripts, routes) */
        async openDemo(name, params = {}, {before} = {}) {
            const p = await openBrowserPage(name);
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
            hearthd.logTail(20)}`;
        throw e;
    } finally {
        await Promise.all(pages.map(p => p.close()));
        if (web) await web.stop();
        await hearthd.stop();
        if (process.env.HEARTH_KEEP_LOGS === '1')
            console.log(`  hearthd dir kept: ${hearthd.dir}`);
        else
            fs.rmSync(hearthd.dir, {recursive: true, force: true});
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
