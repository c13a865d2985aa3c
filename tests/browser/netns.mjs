/*
 * What the tests that change the network need (network_cut, the 443-only test): their own
 * network namespace with only `lo`, nftables rules in it, and a Chromium whose processes run as
 * uid 65534 (nobody) so that rules can tell its packets from hearthd's (`meta skuid 65534`).
 *
 * Only the test's own namespace changes: run.mjs re-executes as root in a fresh one (`unshare
 * -n`, only `lo`); when a test runs in the host's namespace (e.g. HEARTH_BROWSER_NETNS=0),
 * ownNetnsOrRerun() re-executes just that file in one of its own. Not root: Skip; nft,
 * setpriv, unshare, ip or Chromium missing: Skip, or a failure under CI=true.
 */
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {Skip, openBrowserPage} from './harness.mjs';

export const NOBODY = 65534;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const inCI = () => /^(1|true|yes)$/i.test(process.env.CI || '');

/* Skip, or under CI=true fail: this machine cannot run the test. */
function cannotRun(reason) {
    if (inCI()) throw new Error(`${reason} (CI=true: a missing tool fails the test)`);
    throw new Skip(reason);
}

function haveTool(cmd, args) {
    const r = spawnSync(cmd, args, {stdio: 'ignore'});
    return !r.error && r.status === 0;
}

function requireSetup() {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0)
        throw new Skip(
            'needs root (nftables in a private network namespace, a uid-65534 Chromium)');
    const missing = [
        ['nft', ['--version'], 'nftables'],
        ['setpriv', ['--version'], 'util-linux'],
        ['unshare', ['--version'], 'util-linux'],
        ['ip', ['-V'], 'iproute2'],
    ].filter(([cmd, args]) => !haveTool(cmd, args));
    if (missing.length)
        cannotRun(`${missing.map(m => m[0]).join(', ')} not found: apt-get install ${
                [...new Set(missing.map(m => m[2]))].join(' ')}`);
    if (!fs.existsSync(CHROMIUM)) cannotRun(`${CHROMIUM} not found: apt-get install chromium`);
}

/*
 * The network interfaces of this process's namespace (/proc/self/net follows the namespace;
 * /sys/class/net and /proc/1/ns/net do not help inside `unshare -n`).
 */
function interfaces() {
    try {
        return fs.readFileSync('/proc/self/net/dev', 'utf8')
            .split('\n')
            .slice(2)
            .map(l => l.split(':')[0].trim())
            .filter(Boolean);
    } catch {
        return null;
    }
}

/* True in a namespace of our own: only `lo` (run.mjs's, or one made here). */
function inPrivateNetns() {
    const names = interfaces();
    return !!names && names.length === 1 && names[0] === 'lo';
}

/* Runs `file` again in a fresh namespace with only `lo` up; rejects unless it passed. */
function rerunInOwnNetns(file) {
    const quoted = [process.execPath, file].map(a => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return new Promise((resolve, reject) => {
        const child =
            spawn('unshare', ['-n', '--', 'sh', '-c', `ip link set lo up && exec ${quoted}`], {
                stdio: 'inherit',
                env: {...process.env, HEARTH_IN_NETNS: '1', HEARTH_NETNS_CHILD: '1'}
            });
        child.on('error', reject);
        child.on(
            'exit',
            (code, signal) => code === 0 ?
                resolve() :
                reject(new Error(
                    `the run in its own network namespace failed (${signal || `exit ${code}`})`)));
    });
}

/*
 * Checks the setup; null when this process is in a namespace of its own (go on here), else the
 * promise of `file` run again in one (the test's outcome: return it). The child never re-runs.
 */
export function ownNetnsOrRerun(file) {
    requireSetup();
    if (inPrivateNetns()) return null;
    if (process.env.HEARTH_NETNS_CHILD === '1')
        throw new Error(`not in a namespace of its own after unshare -n: interfaces ${
            interfaces()}; will not add nftables rules here`);
    if (!haveTool('unshare', ['-n', '--', 'true']))
        cannotRun('cannot make a network namespace (unshare -n)');
    return rerunInOwnNetns(file);
}

/* ---- nftables (in the test's namespace only) ------------------------------------------------ */

export function nft(...args) {
    const r = spawnSync('nft', args, {encoding: 'utf8'});
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
}

export function nftBatch(text) {
    const r = spawnSync('nft', ['-f', '-'], {input: text, encoding: 'utf8'});
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`nft -f: ${r.stderr.trim()}\n${text}`);
}

export function nftDeleteTable(name) {
    spawnSync('nft', ['delete', 'table', 'inet', name], {stdio: 'ignore'});
}

/* ---- Chromium as uid 65534 ------------------------------------------------------------------ */

/*
 * One browser with one page, its processes running as uid 65534: playwright-core launches a
 * wrapper that drops to nobody (setpriv) and execs Chromium, whose pipe fds it inherits. The
 * profile and HOME belong to nobody. `args`: more Chromium flags.
 */
export async function openNobodyPage(name, {args = []} = {}) {

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hearth-browser-${name}-nobody-`));
    fs.chmodSync(dir, 0o755);
    const home = path.join(dir, 'home'), profile = path.join(dir, 'profile');
    for (const d of [home, profile]) {
        fs.mkdirSync(d);
        fs.chownSync(d, NOBODY, NOBODY);
    }
    const wrapper = path.join(dir, 'chromium-as-nobody');
    fs.writeFileSync(
        wrapper, `#!/bin/sh
export HOME='${home}' XDG_CONFIG_HOME='${home}/.config' XDG_CACHE_HOME='${home}/.cache'
unset XDG_RUNTIME_DIR
exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups '${CHROMIUM}' "$@"
`,
        {mode: 0o755});
    return openBrowserPage(name, {executable: wrapper, profile, dir, args});
}
