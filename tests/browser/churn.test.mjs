/*
 * Publishers come and go while a subscriber of every tested stack stays: a Chromium page
 * (receive-only), an aiortc client and a GStreamer webrtcbin client (max-bundle; both send no
 * media) join one room, after the first publisher, and stay. Then publishers of each stack in
 * turn (gst, Chromium, aiortc) join one after another, each leaving once the next one is
 * decoded, so the subscriber offers
 * both add m-lines and turn earlier ones to port 0. Every round, every staying subscriber must
 * decode new video frames from every publisher present; at the end none reported an error or a
 * refused offer, and hearthd's /metrics shows no negotiation failure and no rejoin.
 *
 * churn_recycle.test.mjs runs four rounds with media.mlines_before_recycle = 4, so new tracks take
 * removed m-lines under new mids (JSEP §5.2.2), the trade-off docs/protocol.md §2.2 describes:
 *   - Chromium takes such offers: it must decode every publisher;
 *   - webrtcbin 1.22 cannot ("transceiver direction changes are not implemented", then an
 *     assertion that kills it), so gst_client.py refuses them (sdp.answer with error) and
 *     hearthd's failure path must recover: rollback, a retry without recycling, no more
 *     recycling on that PC; gst must decode every publisher too, and the failures are counted;
 *   - aiortc 1.4.0 applies them but then answers with payload types it was not offered; hearthd
 *     refuses those answers (bad_sdp), the offer times out, and when the retry fails as well the
 *     client is told to rejoin (disconnect negotiation_failed, close 4007): it must either
 *     decode every publisher or get exactly that, never silence.
 *
 *   node churn.test.mjs       (HEARTH_VERBOSE=1 prints each wait)
 */
import assert from 'node:assert/strict';

import {startAiortc} from './aiortc.test.mjs';
import {joinDemo, MEDIA_WAIT_MS} from './call.mjs';
import {startGst} from './gstreamer.test.mjs';
import {sleep, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const STACKS = ['gst', 'chromium', 'aiortc'];
const verbose = process.env.HEARTH_VERBOSE === '1';

/* A client of `kind` that stays: {name, framesFrom(pid), errors(), stop()}. */
async function stayer(env, room, kind) {
    if (kind === 'chromium') {
        const page = await joinDemo(env, 'watcher', room, {publish: false});
        return {
            name: 'chromium',
            async framesFrom(pid) {
                const s = await page.page.evaluate(
                    async id => (await window.hearthDemo.stats())[id], pid);
                return (s && s.framesDecoded) || 0;
            },
            errors: () => page.page.evaluate(() => window.hearthDemo.errors),
            rejoin: async () => false,
            stop: () => page.close(),
        };
    }
    const start = kind === 'aiortc' ? startAiortc : startGst;
    const p = await start(env, room, `${kind}-stays`, ['--no-publish']);
    return {
        name: kind,
        framesFrom: async pid => (p.last && p.last.frames && p.last.frames[pid]) || 0,
        errors: async () => (p.last && p.last.errors) || [],
        /* told to rejoin: the disconnect, and close 4007 */
        rejoin: async () => ((p.last && p.last.errors) || []).some(e => /4007/.test(e)),
        stop: () => p.stop(),
    };
}

/* The i-th publisher (1-based): the stacks in turn. {name, id, stop()} */
async function publisher(env, room, i) {
    const kind = STACKS[(i - 1) % STACKS.length];
    const name = `${kind}${i}`;
    if (kind === 'chromium') {
        const page = await joinDemo(env, name, room);
        return {name, id: page.id, stop: () => page.close()};
    }
    const p = await (kind === 'aiortc' ? startAiortc : startGst)(env, room, name);
    return {name, id: p.id, stop: () => p.stop()};
}

/*
 * Waits until `sub` decoded 5 frames from pid past what it had; returns the wait in ms, or -1
 * when `rejoinOk` and the server told sub to rejoin instead.
 */
async function decodes(sub, pid, what, rejoinOk) {
    const base = await sub.framesFrom(pid), t0 = Date.now();
    for (;;) {
        const n = await sub.framesFrom(pid);
        if (n >= base + 5) return Date.now() - t0;
        if (rejoinOk && await sub.rejoin()) return -1;
        if (Date.now() - t0 > MEDIA_WAIT_MS)
            throw new Error(`${sub.name}: ${what}: ${n - base} new frames from ${pid} within ${
                MEDIA_WAIT_MS} ms; errors: ${JSON.stringify(await sub.errors())}`);
        await sleep(100);
    }
}

function metricSum(text, name) {
    let sum = 0;
    for (const line of text.split('\n'))
        if (line.startsWith(name + ' ') || line.startsWith(name + '{'))
            sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    return sum;
}

export async function churn(env, room, rounds, {recycling}) {
    const subs = [], rejoined = [];
    try {
        /* The first publisher is there before the subscribers: their first offer already
         * carries its tracks, and its leave in round 2 removes m-lines of that first offer. */
        const first = await publisher(env, room, 1);
        for (const kind of ['chromium', 'aiortc', 'gst']) subs.push(await stayer(env, room, kind));
        let prev = null;
        const t0 = Date.now();
        for (let i = 1; i <= rounds; i++) {
            const pub = i === 1 ? first : await publisher(env, room, i);
            const present = prev ? [prev, pub] : [pub];
            for (const sub of subs.filter(s => !rejoined.includes(s)))
                for (const p of present) {
                    const ms = await decodes(sub, p.id, `round ${i}, publisher ${p.name}`,
                                             recycling && sub.name === 'aiortc');
                    if (ms < 0) {
                        console.log(`      round ${i}: ${sub.name} was told to rejoin (4007)`);
                        rejoined.push(sub);
                        break;
                    }
                    if (verbose) console.log(`      round ${i}: ${sub.name} decodes ${p.name} (${ms} ms)`);
                }
            if (prev) await prev.stop();
            prev = pub;
        }
        await prev.stop();
        const metrics = await (await fetch(`${env.hearthd.base}/metrics`)).text();
        const failures = metricSum(metrics, 'hearth_negotiation_failures_total');
        const rejoins = metricSum(metrics, 'hearth_negotiation_rejoins_total');
        console.log(`      ${rounds} publishers (${STACKS.join(', ')} in turn) in ${
            ((Date.now() - t0) / 1000).toFixed(1)} s; negotiation failures ${failures}, rejoins ${
            rejoins}`);
        assert.equal(rejoins, rejoined.length, 'only the subscribers seen told to rejoin were');
        if (recycling) {
            assert.ok(failures >= 1, 'webrtcbin refused a recycled m-line: the failure path ran');
        } else {
            assert.equal(failures, 0, 'no negotiation failed');
            for (const sub of subs)
                assert.deepEqual(await sub.errors(), [], `${sub.name} reported no error`);
        }
    } finally {
        for (const sub of subs) await sub.stop().catch(() => {});
    }
}

export const tests = [
    {
        name: '10 publishers (gst, Chromium, aiortc in turn) come and go; a Chromium, an aiortc ' +
            'and a gst subscriber decode every one, with no negotiation failure',
        timeoutMs: 240000,
        fn: () => withEnv(env => churn(env, 'churn', 10, {recycling: false})),
    },
];

await runIfMain(import.meta.url, tests);
