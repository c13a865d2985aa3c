/*
 * Layers nobody watches are paused at the publisher (issue 12, docs/protocol.md §2.7), end to
 * end: the engine's layer set (src/sfu/dynacast.c), `track.layers` on the wire, the SDK's
 * encodings and its `layers` event.
 *
 * alice publishes her camera at 1280x720 in three simulcast layers (rids q, h, f: Chromium
 * sends three only from 960x540); bob receives it (receive only) and decodes the top layer.
 *   1. bob asks for q (`track.layer`): within 5 s alice's outbound-rtp bytesSent for h and f
 *      stops growing, and stays still for 2 s while q keeps growing: hearth receives no bytes
 *      on them. The engine waits 3 s before it asks for fewer layers, so about 3 s is expected.
 *   2. alice publishes a second video track (a canvas) meanwhile: her publisher PC is
 *      renegotiated, the camera's m-line keeps its three rids, and h and f stay paused (no
 *      bytes for 2 s) while q goes on: the encodings' `active` survives the renegotiation.
 *   3. bob asks for f: at once alice sends f again (its bytesSent grows) and bob decodes
 *      1280 px wide frames.
 * alice's page must have got each `track.layers` (recorded on her WebSocket) and the SDK's
 * `layers` event for it (the demo keeps them in hearthDemo.layers). The times are measured
 * from the `track.layer` request, in the test (stats are polled every 100 ms), and printed.
 * A second test drives the SDK's handling of `track.layers` in Node, against a stub sender:
 * only changes are set, one setParameters at a time and in order, a mid not ours, an empty or
 * malformed list and a replaced PC are left alone, a refusal is an `error` event.
 *
 *   node dynacast.test.mjs
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {recordMessages} from './call.mjs';
import {repoRoot, sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const ROOM = 'browser-dynacast';
const PAUSE_LIMIT_MS = 5000; /* the acceptance: no bytes on the top layer within 5 s */
const STILL_MS = 2000;       /* how long a paused layer is watched to prove it */
const RESUME_LIMIT_MS = 3000;
const TOP_WIDTH = 1280;
const POLL_MS = 100;

/* alice's video outbound-rtp bytesSent per rid. */
function sentByRid(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        const out = {};
        s.publisher.forEach(r => {
            if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid) out[r.rid] = r.bytesSent;
        });
        return out;
    });
}

/* bob's decoded video of alice's track `track` (her camera, not her canvas): {width, frames}. */
function decoded(page, track) {
    return page.evaluate(async t => {
        const c = window.hearthDemo.client;
        const s = await c.getStats();
        let v = {width: 0, frames: 0};
        s.subscriber.forEach(r => {
            const remote = r.trackIdentifier && c.remoteTracks.get(r.trackIdentifier);
            if (r.type === 'inbound-rtp' && r.kind === 'video' && remote && remote.trackId === t)
                v = {width: r.frameWidth || 0, frames: r.framesDecoded || 0};
        });
        return v;
    }, track);
}

/* Waits until bob decodes alice's `track` at `width` (after at least `frames` frames). */
async function waitWidth(page, track, width, frames, timeout) {
    const start = Date.now();
    for (;;) {
        const v = await decoded(page, track);
        if (v.width === width && v.frames > frames) return v;
        if (Date.now() - start > timeout)
            assert.fail(`bob not at ${width} px within ${timeout} ms: ${JSON.stringify(v)}`);
        await sleep(POLL_MS);
    }
}

/* bob asks for layer `rid` of alice's track (track.layer). */
function setLayer(page, track, rid) {
    return page.evaluate(([t, r]) => window.hearthDemo.client.setLayer(t, r), [track, rid]);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/* What alice was told since `since` (wire) and what her SDK reported (events). */
function told(page, since) {
    return page.evaluate(t => ({
        wire: window.layersWire.filter(x => x.at >= t),
        events: window.hearthDemo.layers.filter(x => x.at >= t),
    }), since);
}

/* Waits until alice was told `active` after `since` on the wire and by a `layers` event. */
async function waitTold(page, since, active, timeout) {
    return until(page, async ([t, want]) => {
        const w = window.layersWire.find(x => x.at >= t && x.active.join() === want.join());
        const e = window.hearthDemo.layers.find(x => x.at >= t && x.active.join() === want.join());
        return w && e ? {wireAt: w.at, eventAt: e.at, mid: e.mid, track: w.track} : null;
    }, [since, active], {timeout, what: `alice told to send ${active.join(',')}`});
}

export const tests = [
    {
        name: 'layers nobody watches stop reaching hearth, and come back when asked for',
        timeoutMs: 120000,
        fn: () => withEnv(async env => {
            const alice = await env.openDemo('alice', {
                room: ROOM, user: 'alice', autojoin: '1', simulcast: '1', camera: '1280x720'
            }, {before: page => page.addInitScript(recordMessages, {type: 'track.layers', into: 'layersWire'})});
            const bob = await env.openDemo(
                'bob', {room: ROOM, user: 'bob', autojoin: '1', publish: '0'});

            /* bob decodes the top layer: alice sends all three */
            const track = await until(bob.page, () => {
                const t =
                    [...window.hearthDemo.client.tracks.values()].find(x => x.kind === 'video');
                return t ? t.id : null;
            }, null, {timeout: 20000, what: 'bob told of alice\'s camera'});
            await waitWidth(bob.page, track, TOP_WIDTH, 10, 30000);
            const rids = Object.keys(await sentByRid(alice.page)).sort();
            assert.deepEqual(rids, ['f', 'h', 'q'], 'alice sends three layers');
            const mid = await bob.page.evaluate(
                t => window.hearthDemo.client.tracks.get(t).mid, track);

            /* 1. bob asks for q: h and f stop within 5 s and stay still for 2 s; q goes on */
            const t0 = await alice.page.evaluate(() => Date.now());
            const started = Date.now();
            await setLayer(bob.page, track, 'q');
            let last = await sentByRid(alice.page);
            const changed = {q: started, h: started, f: started};
            const qAtStill = {};
            for (;;) {
                await sleep(POLL_MS);
                const now = Date.now(), cur = await sentByRid(alice.page);
                for (const rid of ['q', 'h', 'f'])
                    if (cur[rid] !== last[rid]) changed[rid] = now;
                last = cur;
                const stoppedAt = Math.max(changed.h, changed.f);
                if (stoppedAt - started > PAUSE_LIMIT_MS)
                    assert.fail(`h or f still sent ${stoppedAt - started} ms after q was asked`);
                if (qAtStill.bytes === undefined && now - stoppedAt >= POLL_MS * 3)
                    qAtStill.bytes = cur.q; /* q from here on must grow */
                if (now - stoppedAt >= STILL_MS) {
                    assert.ok(cur.q > qAtStill.bytes, 'alice keeps sending q meanwhile');
                    const pausedMs = stoppedAt - started;
                    console.log(`      h and f paused ${pausedMs} ms after bob asked for q ` +
                                `(last growth of h at ${changed.h - started} ms, f at ` +
                                `${changed.f - started} ms; still for ${now - stoppedAt} ms)`);
                    break;
                }
            }
            const toldQ = await waitTold(alice.page, t0, ['q'], 1000);
            assert.equal(toldQ.track, track);
            assert.equal(toldQ.mid, mid);
            console.log(`      track.layers [q] reached alice ${toldQ.wireAt - t0} ms after ` +
                        `the request (layers event at ${toldQ.eventAt - t0} ms)`);
            const pausedWire = (await told(alice.page, t0)).wire;
            assert.ok(pausedWire.every(x => same(x.active, ['q'])),
                      `only [q] told while bob wants q: ${JSON.stringify(pausedWire)}`);

            /* 2. alice renegotiates her publisher PC: h and f stay paused, q goes on */
            const simulcastLines = await alice.page.evaluate(async () => {
                const canvas = document.createElement('canvas');
                canvas.width = 320;
                canvas.height = 180;
                const g = canvas.getContext('2d');
                window.canvasTimer = setInterval(() => {
                    g.fillStyle = `hsl(${Math.floor(Date.now() / 10) % 360}, 60%, 50%)`;
                    g.fillRect(0, 0, 320, 180);
                }, 50);
                const c = window.hearthDemo.client;
                await c.publish(canvas.captureStream(15));
                return c.publisherPc.localDescription.sdp.split('\r\n')
                    .filter(l => l.startsWith('a=simulcast'));
            });
            assert.equal(simulcastLines.length, 1, `one simulcast m-line: ${simulcastLines}`);
            assert.match(simulcastLines[0], /q;.*h;.*f/, 'the camera keeps its rids');
            const afterReneg = await sentByRid(alice.page);
            await sleep(STILL_MS);
            const later = await sentByRid(alice.page);
            assert.equal(later.h, afterReneg.h, 'h stays paused across the renegotiation');
            assert.equal(later.f, afterReneg.f, 'f stays paused across the renegotiation');
            assert.ok(later.q > afterReneg.q, 'q goes on across the renegotiation');
            console.log(`      renegotiated (${simulcastLines[0]}): h and f still paused ` +
                        `${STILL_MS} ms later`);

            /* 3. bob asks for f: alice sends f again at once, bob decodes the top width */
            const before = await sentByRid(alice.page);
            const t1 = await alice.page.evaluate(() => Date.now());
            const resumeStart = Date.now();
            await setLayer(bob.page, track, 'f');
            let resumedMs = null;
            while (resumedMs === null) {
                const cur = await sentByRid(alice.page);
                if (cur.f > before.f && cur.h > before.h) resumedMs = Date.now() - resumeStart;
                else if (Date.now() - resumeStart > RESUME_LIMIT_MS)
                    assert.fail(`f not sent again ${RESUME_LIMIT_MS} ms after bob asked for it`);
                else await sleep(POLL_MS);
            }
            const v = await waitWidth(bob.page, track, TOP_WIDTH, 0, 10000);
            const topMs = Date.now() - resumeStart;
            const toldAll = await waitTold(alice.page, t1, ['q', 'h', 'f'], 1000);
            console.log(`      f and h sent again ${resumedMs} ms after bob asked for f ` +
                        `(track.layers [q,h,f] reached alice at ${toldAll.wireAt - t1} ms); ` +
                        `bob decodes ${v.width} px at ${topMs} ms`);
            const errors = await alice.page.evaluate(() => window.hearthDemo.errors);
            assert.deepEqual(errors, [], 'no SDK errors at alice');
        }),
    },
    {
        name: 'the SDK sets its encodings from track.layers: only changes, one at a time',
        fn: async () => {
            const {HearthClient} =
                await import(pathToFileURL(path.join(repoRoot, 'clients', 'js', 'hearth.js')).href);
            /* a sender whose setParameters takes 20 ms and must never overlap another */
            const sender = {
                track: {kind: 'video'},
                params: {
                    transactionId: 0,
                    encodings: ['q', 'h', 'f'].map(rid => ({rid, active: true})),
                },
                sets: [],
                busy: false,
                fail: false,
                getParameters() {
                    this.params.transactionId++;
                    return JSON.parse(JSON.stringify(this.params));
                },
                async setParameters(p) {
                    assert.ok(!this.busy, 'setParameters calls never overlap');
                    assert.equal(p.transactionId, this.params.transactionId, 'read just before');
                    this.busy = true;
                    await sleep(20);
                    this.busy = false;
                    if (this.fail) throw new Error('InvalidModificationError');
                    this.params = p;
                    this.sets.push(p.encodings.filter(e => e.active).map(e => e.rid).join());
                },
            };
            const transceiver = {mid: '1', sender};
            const slot = (pc) => {
                let chain = Promise.resolve();
                return {pc, serial(fn) {
                    const run = chain.then(fn);
                    chain = run.catch(() => {});
                    return run;
                }};
            };
            const c = new HearthClient();
            c._pub = slot({getTransceivers: () => [transceiver]});
            c._published = [{track: sender.track, transceiver, simulcast: true}];
            const seen = [], errors = [];
            c.addEventListener('layers', e => seen.push(e.detail));
            c.addEventListener('error', e => errors.push(e.detail.context));
            const msg = data => c._onMessage({type: 'track.layers', data});
            const settled = () => sleep(100);

            msg({track: 'TR_a', mid: '1', active: ['q']});
            await settled();
            assert.deepEqual(sender.sets, ['q']);
            assert.deepEqual(seen, [{track: 'TR_a', mid: '1', active: ['q']}]);
            msg({track: 'TR_a', mid: '1', active: ['q']});
            await settled();
            assert.deepEqual(sender.sets, ['q'], 'nothing changes: nothing set');
            assert.equal(seen.length, 2, 'but told');

            msg({track: 'TR_a', mid: '1', active: ['q', 'h', 'f']});
            msg({track: 'TR_a', mid: '1', active: ['q', 'h']}); /* while the first is being set */
            await settled();
            assert.deepEqual(sender.sets, ['q', 'q,h,f', 'q,h'], 'in order, the last one holds');

            msg({track: 'TR_a', mid: '7', active: ['q']}); /* not one of ours */
            msg({track: 'TR_a', mid: '1', active: []});    /* never sent: ignored */
            msg({track: 'TR_a', mid: '1', active: 'q'});
            msg({track: 'TR_a', active: ['q']});
            await settled();
            assert.deepEqual(sender.sets, ['q', 'q,h,f', 'q,h']);
            assert.equal(seen.length, 5, 'only the one with a mid and a list is told');

            sender.fail = true;
            msg({track: 'TR_a', mid: '1', active: ['q']});
            await settled();
            assert.deepEqual(errors, ['layers'], 'a refusal is an error event');
            sender.fail = false;

            const old = c._pub; /* a resume renewed the media: the old PC is left alone */
            c._pub = slot({getTransceivers: () => []});
            old.serial(() => sleep(50));
            msg({track: 'TR_a', mid: '1', active: ['q']});
            await settled();
            assert.deepEqual(sender.sets, ['q', 'q,h,f', 'q,h']);
            assert.equal(seen.length, 7);
        },
    },
];

await runIfMain(import.meta.url, tests);
