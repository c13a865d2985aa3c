/*
 * The browser test runner: runs test files and prints `N passed, N failed` last.
 *
 *   node run.mjs                       every *.test.mjs in this folder
 *   node run.mjs join.test.mjs         just these files (also: `node join.test.mjs`)
 *
 * A test file exports `tests`: [{name, timeoutMs?, fn: async () => {}}]; a test passes when fn
 * resolves, and is skipped (counted apart, reason printed) when it throws harness.mjs's Skip.
 * Each runs under its own timeout, one after another (two cores, shared).
 *
 * When run as root with `unshare` available, the run re-executes itself in a fresh network
 * namespace that has only `lo` up, so Chromium and hearthd can gather and send on 127.0.0.1
 * alone (shared/PEERS.md). HEARTH_BROWSER_NETNS=0 turns that off.
 */
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_TIMEOUT_MS = 90000;

/* Re-runs this process inside `unshare -n` with lo up; returns its exit code, or null. */
function reexecInNetns(argv) {
    if (process.env.HEARTH_BROWSER_NETNS === '0' || process.env.HEARTH_IN_NETNS === '1')
        return null;
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
    const probe = spawnSync('unshare', ['-n', '--', 'true'], {stdio: 'ignore'});
    if (probe.status !== 0) return null;
    const quoted = [process.execPath, ...argv].map(a => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync(
        'unshare', ['-n', '--', 'bash', '-c', `ip link set lo up && exec ${quoted}`],
        {stdio: 'inherit', env: {...process.env, HEARTH_IN_NETNS: '1'}});
    return r.status === null ? 1 : r.status;
}

function withTimeout(promise, ms, name) {
    let timer;
    const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name}: timed out after ${ms} ms`)), ms);
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Runs suites ([{file, tests}]) one test at a time; returns {passed, failed, skipped}.
 *  HEARTH_TEST_FILTER (for a developer): only the tests whose name holds that text. */
export async function runSuites(suites) {
    let passed = 0, failed = 0, skipped = 0;
    const only = process.env.HEARTH_TEST_FILTER || '';
    for (const {file, tests} of suites) {
        for (const t of tests || []) {
            const name = `${file}: ${t.name}`;
            if (!name.includes(only)) continue;
            const started = Date.now();
            try {
                await withTimeout(t.fn(), t.timeoutMs || DEFAULT_TIMEOUT_MS, name);
                passed++;
                console.log(`ok    ${name} (${Date.now() - started} ms)`);
            } catch (e) {
                if (e && e.name === 'Skip') {
                    skipped++;
                    console.log(`skip  ${name}: ${e.message}`);
                    continue;
                }
                failed++;
                const text = String(e.stack || e).replace(/\n/g, '\n      ');
                console.log(`FAIL  ${name} (${Date.now() - started} ms)\n      ${text}`);
            }
        }
    }
    return {passed, failed, skipped};
}

/*
 * The entry point, for run.mjs (suites: file names to import; none: every *.test.mjs) and for a
 * test file run directly (suites: [{file, tests}], since a module cannot import itself while
 * its own top-level await runs).
 */
export async function main(suites) {
    const code = reexecInNetns(process.argv.slice(1));
    if (code !== null) process.exit(code);
    if (!suites.length) suites = fs.readdirSync(here).filter(f => f.endsWith('.test.mjs')).sort();
    const loaded = [];
    for (const s of suites) {
        if (typeof s !== 'string') {
            loaded.push(s);
            continue;
        }
        const mod = await import(pathToFileURL(path.resolve(here, s)).href);
        loaded.push({file: path.basename(s), tests: mod.tests});
    }
    const {passed, failed, skipped} = await runSuites(loaded);
    if (skipped) console.log(`${skipped} skipped`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed || !passed ? 1 : 0);
}

/** For the end of a test file: `await runIfMain(import.meta.url, tests)`. */
export async function runIfMain(moduleUrl, tests) {
    const file = fileURLToPath(moduleUrl);
    if (path.resolve(process.argv[1] || '') === file)
        await main([{file: path.basename(file), tests}]);
}
