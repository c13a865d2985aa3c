/*
 * clients/js as an npm package (issue 14, item 1): its declarations, its tarball, and the
 * example app compiled against that tarball and run in Chromium against the real hearthd.
 *
 *   1. hearth.d.ts against hearth.js, both ways, without a browser: the value exports, the
 *      HearthClient and HearthError members (instance, prototype and static), the events
 *      (HearthClientEventMap against every `_emit('name', ...)` in hearth.js) and, for each event
 *      whose detail hearth.js builds as an object literal, its keys against the declared detail.
 *      The .d.ts is read with the TypeScript compiler API (clients/js/node_modules).
 *   2. `npm pack` in clients/js: the tarball holds package.json, README.md, hearth.js and
 *      hearth.d.ts and nothing else; installed (offline) into a temp app beside a copy of
 *      clients/js/examples, it type-checks with `tsc --strict` (resolving the package's own
 *      hearth.d.ts, as a bundler and as Node resolve it) and compiles. The compiled example runs
 *      in a Chromium page on hearthd's origin (its `hearth-client` import resolved to the
 *      tarball's hearth.js): alice (moderator) and bob (autoSubscribe off, asking for video at
 *      320x180) join and publish; bob receives alice's `h` layer; chat over the data channel,
 *      and to one participant (data.send) both ways; alice's microphone switched to a WebAudio
 *      tone makes her a speaker at bob, muted she is dropped, unmuted named again; her camera
 *      switched to a green canvas is decoded green by bob (same track id, no unpublish), black
 *      while muted; bob's `connection-quality` is good (or fair) with a round trip measured and
 *      no loss; hearthd killed (-9) and restarted: both resume, `connection-quality` says
 *      `lost` at once and is measured again after, and bob decodes the canvas again;
 *      moderation: bob cannot mute, alice mutes bob's microphone (bob sees it) and kicks him
 *      (his session ends `kicked`).
 *   3. every ```ts block of docs/sdk.md is an excerpt of clients/js/examples/call.ts, and the
 *      package's version is CMakeLists.txt's (hearthd's HX_VERSION).
 * Under CI=true a missing tool (TypeScript in clients/js/node_modules, npm) fails the test.
 *
 *   node sdk_package.test.mjs
 */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {repoRoot, Skip, sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const pkgDir = path.join(repoRoot, 'clients', 'js');
const ROOM = 'browser-sdk-package';

/* TypeScript from clients/js (npm ci there); absent: a skip, or a failure under CI=true. */
function typescript() {
    const dir = path.join(pkgDir, 'node_modules', 'typescript');
    if (!fs.existsSync(dir)) {
        const why = `no ${dir}: run npm ci in clients/js`;
        if (/^(1|true|yes)$/i.test(process.env.CI || '')) throw new Error(`${why} (CI=true)`);
        throw new Skip(why);
    }
    return {ts: createRequire(import.meta.url)(dir), tsc: path.join(dir, 'bin', 'tsc')};
}

/* ---- 1. the declarations against the code ---------------------------------------------- */

const name = (ts, n) => n && (ts.isIdentifier(n) || ts.isStringLiteral(n)) ? n.text : null;

/* What hearth.d.ts declares: value exports, class members, the events and their detail keys. */
function declared(ts) {
    const file = path.join(pkgDir, 'hearth.d.ts');
    const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    const out = {values: new Set(), classes: {}, events: new Map()};
    const isStatic = m => (ts.getModifiers(m) || []).some(x => x.kind === ts.SyntaxKind.StaticKeyword);
    for (const st of src.statements) {
        if (ts.isVariableStatement(st))
            for (const d of st.declarationList.declarations) out.values.add(d.name.text);
        if (ts.isClassDeclaration(st)) {
            out.values.add(st.name.text);
            const c = out.classes[st.name.text] = {instance: new Set(), static: new Set()};
            for (const m of st.members) {
                if (ts.isConstructorDeclaration(m)) continue;
                (isStatic(m) ? c.static : c.instance).add(name(ts, m.name));
            }
        }
        if (ts.isInterfaceDeclaration(st) && st.name.text === 'HearthClientEventMap')
            for (const m of st.members) {
                const arg = m.type && m.type.typeArguments && m.type.typeArguments[0];
                const keys = arg && ts.isTypeLiteralNode(arg) ?
                    new Set(arg.members.map(x => name(ts, x.name))) : null;
                out.events.set(name(ts, m.name), keys);
            }
    }
    return out;
}

/* What hearth.js emits: event name -> the union of its object-literal details' keys (null when
 * some site passes a variable, whose keys this cannot see). */
function emitted(ts) {
    const file = path.join(pkgDir, 'hearth.js');
    const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest,
                                    true, ts.ScriptKind.JS);
    const events = new Map();
    const visit = n => {
        if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) &&
            n.expression.name.text === '_emit' && n.arguments.length >= 1 &&
            ts.isStringLiteral(n.arguments[0])) {
            const ev = n.arguments[0].text, detail = n.arguments[1];
            let keys = events.has(ev) ? events.get(ev) : new Set();
            if (keys && detail && ts.isObjectLiteralExpression(detail))
                for (const p of detail.properties) keys.add(name(ts, p.name));
            else
                keys = null;
            events.set(ev, keys);
        }
        ts.forEachChild(n, visit);
    };
    visit(src);
    return events;
}

/* The public members of an object: own and inherited up to `stop`, no `_` names. */
function members(obj, stop) {
    const names = new Set();
    for (let o = obj; o && o !== stop; o = Object.getPrototypeOf(o))
        for (const k of Object.getOwnPropertyNames(o))
            if (!k.startsWith('_') && k !== 'constructor') names.add(k);
    return names;
}

const sorted = s => [...s].sort();
function sameSet(actual, expected, what) {
    const missing = sorted(expected).filter(x => !actual.has(x));
    const extra = sorted(actual).filter(x => !expected.has(x));
    assert.deepEqual({missing, extra}, {missing: [], extra: []}, what);
}

async function declarationsMatch() {
    const {ts} = typescript();
    const d = declared(ts);
    const mod = await import(pathToFileURL(path.join(pkgDir, 'hearth.js')).href);
    sameSet(new Set(Object.keys(mod)), d.values,
            'hearth.js exports (missing: declared, not exported; extra: exported, not declared)');

    const {HearthClient, HearthError} = mod;
    const client = members(new HearthClient(), EventTarget.prototype);
    for (const k of ['addEventListener', 'removeEventListener'])
        assert.equal(typeof HearthClient.prototype[k], 'function', k);
    const declaredClient = new Set(
        [...d.classes.HearthClient.instance].filter(
            k => k !== 'addEventListener' && k !== 'removeEventListener'));
    sameSet(client, declaredClient, 'HearthClient members (missing: in hearth.d.ts only)');
    sameSet(new Set(Object.getOwnPropertyNames(HearthClient).filter(
                k => !['length', 'name', 'prototype'].includes(k))),
            d.classes.HearthClient.static, 'HearthClient statics');
    sameSet(members(new HearthError('x', 'y', {}), Error.prototype),
            new Set([...d.classes.HearthError.instance, 'message', 'stack']),
            'HearthError members');

    const ev = emitted(ts);
    sameSet(new Set(ev.keys()), new Set(d.events.keys()),
            'events: emitted by hearth.js (actual) vs HearthClientEventMap (expected)');
    let checked = 0;
    for (const [e, keys] of ev) {
        const want = d.events.get(e);
        if (!keys || !want) continue;
        sameSet(keys, want, `the detail of '${e}': built in hearth.js vs declared`);
        checked++;
    }
    assert.ok(checked >= 12, `details compared for ${checked} events`);
    console.log(`      ${d.values.size} exports, ${client.size} HearthClient members, ${
        ev.size} events (${checked} details) match hearth.d.ts`);
}

/* The package's version is hearth's (CMakeLists.txt's project VERSION, hearthd's HX_VERSION). */
function versionMatches() {
    const cmake = fs.readFileSync(path.join(repoRoot, 'CMakeLists.txt'), 'utf8');
    const m = /project\(hearth VERSION (\S+)/.exec(cmake);
    assert.ok(m, 'CMakeLists.txt names the project version');
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    assert.equal(pkg.version, m[1], 'clients/js/package.json version vs CMakeLists.txt');
}

/* Every ```ts block of docs/sdk.md is an excerpt of the example app, so the docs run as tested. */
function docsAreExcerpts() {
    const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'sdk.md'), 'utf8');
    const example = fs.readFileSync(path.join(pkgDir, 'examples', 'call.ts'), 'utf8');
    const blocks = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map(m => m[1]);
    assert.ok(blocks.length >= 8, `${blocks.length} ts blocks in docs/sdk.md`);
    for (const b of blocks)
        assert.ok(example.includes(b), `docs/sdk.md shows code that examples/call.ts lacks:\n${b}`);
}

/* ---- 2. the tarball, the example app -------------------------------------------------- */

const run = (cmd, args, cwd) =>
    execFileSync(cmd, args, {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});

/* npm pack + install into a temp app + tsc --strict; returns {dir, pkg: the installed dir}. */
function packAndCompile(tsc, top) {
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', top], pkgDir));
    const files = packed[0].files.map(f => f.path).sort();
    assert.deepEqual(files, ['README.md', 'hearth.d.ts', 'hearth.js', 'package.json'],
                     'what the tarball holds');
    const tarball = path.join(top, packed[0].filename);

    const app = path.join(top, 'app');
    fs.cpSync(path.join(pkgDir, 'examples'), app, {recursive: true});
    fs.rmSync(path.join(app, 'out'), {recursive: true, force: true});
    fs.writeFileSync(path.join(app, 'package.json'),
                     JSON.stringify({name: 'example-app', private: true, type: 'module'}));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball],
        app);
    const pkg = path.join(app, 'node_modules', 'hearth-client');
    assert.ok(fs.existsSync(path.join(pkg, 'hearth.d.ts')), 'installed from the tarball');

    /* strict, and the types must come from the installed package, not from the repository */
    let listed;
    try {
        listed = run(process.execPath, [tsc, '-p', app, '--strict', '--listFiles'], app);
    } catch (e) {
        assert.fail(`tsc --strict on the example against the packed package:\n${e.stdout}${
            e.stderr}`);
    }
    const dts = listed.split('\n').filter(l => l.endsWith('hearth.d.ts'));
    assert.deepEqual(dts.map(f => path.relative(app, f)),
                     [path.join('node_modules', 'hearth-client', 'hearth.d.ts')],
                     'tsc read the packed hearth.d.ts');
    assert.ok(fs.existsSync(path.join(app, 'out', 'call.js')), 'compiled');
    /* and as Node resolves it (the package's `exports`, `types` condition), not only a bundler */
    try {
        run(process.execPath, [tsc, '-p', app, '--strict', '--noEmit', '--module', 'NodeNext',
                               '--moduleResolution', 'NodeNext'], app);
    } catch (e) {
        assert.fail(`tsc --moduleResolution NodeNext on the example:\n${e.stdout}${e.stderr}`);
    }
    return {app, pkg};
}

/*
 * Serves the compiled example and the packed hearth.js under /example/ on hearthd's origin, to
 * the demo page: a document hearthd served (one fulfilled by the test would be blocked by
 * Chromium's local network access checks from reaching hearthd's WebSocket, and the demo's CSP
 * refuses an inline import map), so the example's `hearth-client` import is resolved here, to
 * the tarball's hearth.js, as a bundler would.
 */
async function routeExample(page, base, {app, pkg}) {
    const js = fs.readFileSync(path.join(app, 'out', 'call.js'), 'utf8');
    const resolved = js.replace(/ from 'hearth-client';/g, ` from '/example/pkg/hearth.js';`);
    assert.notEqual(resolved, js, 'the compiled example imports hearth-client');
    const files = {
        '/example/call.js': resolved,
        '/example/pkg/hearth.js': fs.readFileSync(path.join(pkg, 'hearth.js')),
    };
    await page.route(`${base}/example/**`, route => {
        const f = files[new URL(route.request().url()).pathname];
        if (!f) return route.fulfill({status: 404, body: 'no such file'});
        return route.fulfill({status: 200, contentType: 'text/javascript', body: f});
    });
    await page.evaluate(() => {
        const media = document.createElement('div');
        media.id = 'media';
        document.body.append(media);
    });
}

/* In the page: the example's functions, for alice (moderator) and bob (he chooses his tracks). */
async function setUpCall(room) {
    const ex = await import('/example/call.js');
    const t = window.t = {ex, log: {alice: [], bob: []}, quality: {alice: [], bob: []},
                          speakers: {}, chat: {},
                          moderation: {alice: [], bob: []}, after: {}};
    const media = document.getElementById('media');
    for (const [user, opts] of [['alice', {moderator: true}], ['bob', {autoSubscribe: false}]]) {
        const c = await ex.joinRoom('', room, user, opts);
        t[user] = c;
        if (user === 'bob') ex.subscribeWithQuality(c, 320, 180);
        const box = document.createElement('div');
        box.id = `media-${user}`;
        media.append(box);
        ex.showRemoteMedia(c, box);
        ex.followSession(c, (s, why) => t.log[user].push([s, why]));
        ex.followSpeakers(c, s => t.speakers[user] = s.map(x => x.participant));
        ex.followQuality(c, q => t.quality[user].push(q));
        ex.followModeration(c, e => t.moderation[user].push(e.event));
        t.chat[user] = {lines: []};
        t.chat[user].api = ex.chat(c, line => t.chat[user].lines.push(line));
        for (const e of ['track-published', 'track-unpublished'])
            c.addEventListener(e, ev => (t.after[user] ||= []).push(e));
        t[`${user}Media`] = await ex.publishMicAndCamera(c);
    }
    /* the pixels bob shows of alice's video: mean r, g, b of its newest element */
    t.pixels = () => {
        const els = [...document.querySelectorAll(
            `#media-bob video[data-participant="${t.alice.participantId}"]`)];
        const v = els.at(-1);
        if (!v || !v.videoWidth) return null;
        const cv = document.createElement('canvas');
        cv.width = 32;
        cv.height = 24;
        const g = cv.getContext('2d');
        g.drawImage(v, 0, 0, 32, 24);
        const d = g.getImageData(0, 0, 32, 24).data;
        const sum = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4)
            for (let k = 0; k < 3; k++) sum[k] += d[i + k];
        return sum.map(x => Math.round(x / (d.length / 4)));
    };
    return {alice: t.alice.participantId, bob: t.bob.participantId};
}

const green = p => p && p[1] > 120 && p[0] < 90 && p[2] < 90;

async function exampleRuns() {
    const {tsc} = typescript();
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-sdk-package-'));
    try {
        const built = packAndCompile(tsc, top);
        await withEnv(async env => {
            const {page} = await env.openDemo('example', {publish: '0'});
            await routeExample(page, env.pageBase, built);
            const ids = await page.evaluate(setUpCall, ROOM);
            const videoA = await until(page, id => {
                const t = [...window.t.bob.tracks.values()].find(
                    x => x.participant === id && x.kind === 'video');
                return t && t.id;
            }, ids.alice, {what: 'bob knows alice\'s video'});

            /* quality preference: 320x180 asked, the h layer (320x240) received */
            const recv = await until(page, v => {
                const r = window.t.bob.receiving.get(v);
                return r && r.rid === 'h' && r;
            }, videoA, {timeout: 20000, what: 'bob receives alice\'s h layer (setSize 320x180)'});
            console.log(`      bob receives alice's video as ${JSON.stringify(recv)}`);

            /* data: broadcast, tagged with the sender */
            await until(page, () => window.t.alice.dataReady, null, {what: 'alice data-open'});
            const line = await until(page, () => {
                try {
                    window.t.chat.alice.api.send('hello from alice');
                } catch {
                    return null;
                }
                return true;
            }, null, {what: 'alice sends'}).then(() => until(
                page, () => window.t.chat.bob.lines[0], null, {what: 'bob gets the chat line'}));
            assert.deepEqual(line, {from: ids.alice, text: 'hello from alice', direct: false});
            /* to one participant (data.send over the WebSocket), both ways */
            const direct = await page.evaluate(async ([a, b]) => {
                const t = window.t;
                await t.chat.alice.api.sendTo(b, 'just for bob');
                await t.chat.bob.api.sendTo(a, 'just for alice');
                const code = await t.chat.bob.api.sendTo('p_0000000000000000', 'x')
                                 .then(() => 'sent', e => e.code);
                return {code};
            }, [ids.alice, ids.bob]);
            assert.deepEqual(direct, {code: 'target_not_found'});
            const lines = await until(page, () => {
                const t = window.t;
                const d = u => t.chat[u].lines.filter(l => l.direct);
                return d('alice').length && d('bob').length && {alice: d('alice'), bob: d('bob')};
            }, null, {what: 'the direct lines'});
            assert.deepEqual(lines, {
                alice: [{from: ids.bob, text: 'just for alice', direct: true}],
                bob: [{from: ids.alice, text: 'just for bob', direct: true}],
            });

            /* microphone switched to a tone: a speaker; muted: not; unmuted: again */
            await page.evaluate(async () => {
                const t = window.t;
                const ctx = new AudioContext();
                await ctx.resume();
                const osc = ctx.createOscillator();
                const dest = ctx.createMediaStreamDestination();
                osc.connect(dest);
                osc.start();
                t.oldMic = t.aliceMedia.mic;
                t.aliceMedia.mic = await t.ex.switchDevice(
                    t.alice, t.aliceMedia.mic, dest.stream.getAudioTracks()[0]);
            });
            assert.equal(await page.evaluate(() => window.t.oldMic.readyState), 'ended');
            const speaking = (want, what) => until(
                page, ([a, w]) => (window.t.speakers.bob || []).includes(a) === w, [ids.alice, want],
                {timeout: 10000, what});
            await speaking(true, 'bob hears alice speak (her mic switched to a tone)');
            await page.evaluate(() => window.t.ex.setMuted(window.t.aliceMedia.mic, true));
            await speaking(false, 'alice muted: no longer a speaker at bob');
            await page.evaluate(() => window.t.ex.setMuted(window.t.aliceMedia.mic, false));
            await speaking(true, 'alice unmuted: a speaker again');

            /* camera switched to a green canvas: bob decodes green on the same track */
            await until(page, () => window.t.pixels(), null, {what: 'bob shows alice\'s video'});
            const before = await page.evaluate(() => ({
                after: (window.t.after.bob || []).length,
                remote: [...window.t.bob.remoteTracks.values()].map(r => r.trackId).sort(),
            }));
            await page.evaluate(async () => {
                const t = window.t;
                const cv = document.createElement('canvas');
                cv.width = 320;
                cv.height = 240;
                const g = cv.getContext('2d');
                t.paint = setInterval(() => {
                    g.fillStyle = '#00c000';
                    g.fillRect(0, 0, 320, 240);
                }, 50);
                const track = cv.captureStream(20).getVideoTracks()[0];
                t.aliceMedia.camera = await t.ex.switchDevice(t.alice, t.aliceMedia.camera, track);
            });
            await until(page, () => window.t.pixels(), null, {what: 'pixels'});
            const px = await until(page, () => {
                const p = window.t.pixels();
                return p && p[1] > 120 && p[0] < 90 && p[2] < 90 && p;
            }, null, {timeout: 10000, what: 'bob decodes alice\'s new camera (green)'});
            assert.ok(green(px));
            const afterSwitch = await page.evaluate(() => ({
                after: (window.t.after.bob || []).length,
                remote: [...window.t.bob.remoteTracks.values()].map(r => r.trackId).sort(),
            }));
            assert.deepEqual(afterSwitch, before, 'same tracks at bob, nothing (un)published');
            await page.evaluate(() => window.t.ex.setMuted(window.t.aliceMedia.camera, true));
            await until(page, () => {
                const p = window.t.pixels();
                return p && p[0] < 40 && p[1] < 40 && p[2] < 40;
            }, null, {timeout: 10000, what: 'alice\'s camera muted: bob shows black'});
            await page.evaluate(() => window.t.ex.setMuted(window.t.aliceMedia.camera, false));

            /* connection quality on loopback: good, or at worst fair on busy cores */
            const q = await until(page, () => window.t.bob.connectionQuality, null,
                                  {what: 'bob\'s first quality reading'});
            console.log(`      bob's quality: ${JSON.stringify(q)}`);
            assert.equal(typeof q.rttMs, 'number', 'a round trip is measured');
            assert.ok(q.loss < 0.02, `loss ${q.loss}`);
            assert.ok(['good', 'fair'].includes(q.quality), `quality ${q.quality}`);
            const marks = await page.evaluate(
                () => ({alice: window.t.quality.alice.length, bob: window.t.quality.bob.length}));

            /* resume: hearthd killed and restarted; both come back by themselves */
            await env.hearthd.restart({signal: 'SIGKILL'});
            const logs = await until(page, () => {
                const l = window.t.log;
                const done = u => l[u].some(x => x[0] === 'connected');
                return done('alice') && done('bob') && l;
            }, null, {timeout: 30000, what: 'both resumed'});
            for (const u of ['alice', 'bob']) {
                assert.equal(logs[u][0][0], 'reconnecting', `${u}: ${JSON.stringify(logs[u])}`);
                assert.ok(!logs[u].some(x => x[0] === 'ended'), `${u} never ended`);
            }
            /* the drop is told as quality `lost` at once, and a measured quality follows */
            const told = await until(page, m => {
                const t = window.t;
                const since = u => t.quality[u].slice(m[u]).map(x => x.quality);
                const ok = u => since(u)[0] === 'lost' && since(u).length >= 2;
                return ok('alice') && ok('bob') && {alice: since('alice'), bob: since('bob')};
            }, marks, {timeout: 15000, what: 'quality lost, then measured again'});
            console.log(`      quality after the restart: ${JSON.stringify(told)}`);
            await until(page, () => {
                const p = window.t.pixels();
                return p && p[1] > 120 && p[0] < 90 && p[2] < 90;
            }, null, {timeout: 20000, what: 'after the resume bob decodes the green camera'});

            /* moderation */
            const mod = await page.evaluate(async ([a, b]) => {
                const t = window.t;
                const audio = id => [...t.alice.tracks.values()].find(
                    x => x.participant === id && x.kind === 'audio').id;
                const notAllowed =
                    await t.ex.muteForEveryone(t.bob, a, [...t.bob.tracks.values()].find(
                        x => x.participant === a && x.kind === 'audio').id, 'no');
                const muted = await t.ex.muteForEveryone(t.alice, b, audio(b), 'noise');
                const kick = await t.ex.kick(t.alice, b, 'test');
                return {notAllowed, muted, kick: kick.status};
            }, [ids.alice, ids.bob]);
            assert.deepEqual({notAllowed: mod.notAllowed, muted: mod.muted},
                             {notAllowed: 'not allowed', muted: 'done'});
            const end = await until(page, () => {
                const l = window.t.log.bob.at(-1);
                return l && l[0] === 'ended' && {log: l, seen: window.t.moderation.bob};
            }, null, {what: 'bob kicked'});
            assert.match(end.log[1], /^kicked /);
            assert.ok(end.seen.includes('mute'), `bob saw the mute: ${end.seen}`);
            console.log(`      kick: ${mod.kick}; bob saw ${end.seen.join(', ')}`);
            await page.evaluate(() => window.t.alice.leave());
        });
    } finally {
        fs.rmSync(top, {recursive: true, force: true});
    }
}

export const tests = [
    {name: 'hearth.d.ts declares exactly what hearth.js has', fn: declarationsMatch},
    {name: 'the TypeScript in docs/sdk.md is the example app\'s', fn: docsAreExcerpts},
    {name: 'the package\'s version is hearthd\'s', fn: versionMatches},
    {
        name: 'npm pack: the example type-checks (tsc --strict) against the tarball and runs',
        timeoutMs: 180000,
        fn: exampleRuns,
    },
];

await runIfMain(import.meta.url, tests);
