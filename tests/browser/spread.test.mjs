/*
 * A room spread over two media worker processes (issue 13, media.split_subscribers,
 * sfu/relay.h). hearthd with two workers and a split of one subscriber per worker: alice's
 * publisher and subscriber transports land on the room's home (worker 0); bob's and carol's
 * subscribers go to worker 1, which gets one relayed copy of each stream from the home
 * (`hearth_rooms_spread` 1; `hearth_worker_transports` 4 and 2). Each page's subscriber pair
 * names the worker it is on (its remote port). Every page decodes every other page's video and
 * receives its audio; carol, who joins last, gets keyframes through the relay (Chromium sends
 * one only when asked). Data messages from alice (home) reach bob (worker 1), one of 4 kB in
 * fragments. The loss the
 * relayed subscribers see over 6 s is measured (< 1 %, and printed). Then bob and carol leave:
 * worker 1 hosts none of the room any more, the relay stops (`hearth_rooms_spread` 0).
 *
 *   node spread.test.mjs
 */
import assert from 'node:assert/strict';

import {inboundByParticipant, selectedPair, videoFrom, workerMetrics as metrics, workerPorts} from './call.mjs';
import {sleep, until, withEnv} from './harness.mjs';
import {joinAndPublish} from './media.test.mjs';
import {runIfMain} from './runner.mjs';

/* rx keeps decoding tx's video and receiving its audio. */
async function decodes(rx, tx) {
    const first = await videoFrom(rx.page, tx.id, 1);
    const later = await videoFrom(rx.page, tx.id, first.framesDecoded + 10);
    const audio = (await inboundByParticipant(rx.page))[tx.id].audio || {};
    assert.ok(audio.packetsReceived > 0, `${rx.name} receives ${tx.name}'s audio`);
    return later;
}

/* What rx lost of everything it receives from the others over ms: {received, lost}. */
async function lossOver(rx, ms) {
    const sum = s => Object.values(s).flatMap(p => Object.values(p)).reduce(
        (a, k) => ({received: a.received + (k.packetsReceived || 0), lost: a.lost + (k.packetsLost || 0)}),
        {received: 0, lost: 0});
    const a = sum(await inboundByParticipant(rx.page));
    await sleep(ms);
    const b = sum(await inboundByParticipant(rx.page));
    return {received: b.received - a.received, lost: Math.max(0, b.lost - a.lost)};
}

export const tests = [
    {
        name: 'one room over two worker processes: relayed subscribers decode everyone, data crosses, the relay stops when they leave',
        timeoutMs: 150000,
        fn: () => withEnv(async env => {
            const ports = workerPorts(env.hearthd.log());
            assert.deepEqual(Object.keys(ports).sort(), ['0', '1'], 'two workers started');

            const room = 'spread-room';
            const alice = await joinAndPublish(env, 'alice', room);
            const bob = await joinAndPublish(env, 'bob', room);
            await decodes(bob, alice);
            await decodes(alice, bob);
            const carol = await joinAndPublish(env, 'carol', room, {params: {simulcast: '1'}});
            const pages = [alice, bob, carol];
            for (const rx of pages)
                for (const tx of pages)
                    if (rx !== tx) await decodes(rx, tx);

            const on = {};
            for (const p of pages) on[p.name] = (await selectedPair(p.page)).remotePort;
            assert.deepEqual(on, {alice: ports[0], bob: ports[1], carol: ports[1]},
                             'alice subscribes on the home (worker 0), bob and carol on worker 1');
            const m1 = await metrics(env.hearthd.base);
            assert.deepEqual(m1.hearth_worker_transports, {0: 4, 1: 2},
                             'three publishers and one subscriber on the home, two subscribers on worker 1');
            assert.equal(m1.hearth_rooms_spread, 1, 'one room spread');
            assert.equal(m1.hearth_worker_relays_started_total, 1, 'one relay (worker 1)');

            /* carol's simulcast layers cross the relay: bob (worker 1) asks for q, then h; each
             * switch waits for a keyframe of that layer, asked of carol through the home */
            const track = await bob.page.evaluate(id => [...window.hearthDemo.client.tracks.values()]
                .find(t => t.kind === 'video' && t.participant === id).id, carol.id);
            for (const [rid, width] of [['q', 160], ['h', 320]]) {
                const t0 = Date.now();
                await bob.page.evaluate(([t, r]) => window.hearthDemo.client.setLayer(t, r), [track, rid]);
                await until(bob.page, ([t, r]) => (window.hearthDemo.client.receiving.get(t) || {}).rid === r,
                            [track, rid], {timeout: 10000, what: `bob told he receives ${rid}`});
                let v;
                while (Date.now() - t0 < 10000) {
                    v = ((await inboundByParticipant(bob.page))[carol.id] || {}).video || {};
                    if (v.frameWidth === width) break;
                    await sleep(100);
                }
                assert.equal(v.frameWidth, width, `bob decodes carol's ${rid} layer (${width} px)`);
                console.log(`  bob (worker 1) on carol's layer ${rid}: ${v.frameWidth} px after ${Date.now() - t0} ms`);
            }

            /* data from the home's publisher to a subscriber on worker 1 */
            for (const p of [alice, bob])
                await until(p.page, () => window.hearthDemo.dataOpen, null,
                            {what: `${p.name}'s data channel`});
            await alice.page.evaluate(() => window.hearthDemo.sendChat('over the relay'));
            const text = await until(bob.page, () => window.hearthDemo.lastData &&
                window.hearthDemo.lastData.data === 'over the relay' && window.hearthDemo.lastData,
                                     null, {what: 'alice\'s message at bob'});
            assert.equal(text.from, alice.id);
            /* one larger than a datagram: it crosses in fragments */
            const big = 'x'.repeat(4000) + 'end';
            await alice.page.evaluate(t => window.hearthDemo.sendChat(t), big);
            const got = await until(bob.page, n => window.hearthDemo.lastData &&
                window.hearthDemo.lastData.data.length === n && window.hearthDemo.lastData,
                                    big.length, {what: 'alice\'s 4 kB message at bob'});
            assert.equal(got.data, big, 'the 4 kB message arrives whole');

            const loss = {};
            for (const p of [bob, carol]) {
                const l = await lossOver(p, 6000);
                assert.ok(l.received > 300, `${p.name} receives through the relay: ${JSON.stringify(l)}`);
                loss[p.name] = l;
                assert.ok(l.lost / (l.received + l.lost) < 0.01,
                          `${p.name} loses < 1 % through the relay: ${JSON.stringify(l)}`);
            }
            const m2 = await metrics(env.hearthd.base);
            for (const w of ['0', '1'])
                assert.ok((m2.hearth_worker_packets_sent_total || {})[w] > 0,
                          `worker ${w} forwards: ${JSON.stringify(m2)}`);
            console.log(`  spread: alice on worker 0 (udp ${ports[0]}), bob and carol on worker 1 (udp ${
                ports[1]}); loss over 6 s: ${Object.entries(loss).map(([n, l]) =>
                `${n} ${l.lost}/${l.received + l.lost} (${(100 * l.lost / (l.received + l.lost)).toFixed(2)} %)`).join(', ')}; packets sent ${
                JSON.stringify(m2.hearth_worker_packets_sent_total)}`);

            for (const p of [bob, carol]) await p.page.evaluate(() => window.hearthDemo.leave());
            const t0 = Date.now();
            let m3;
            while (Date.now() - t0 < 10000) {
                m3 = await metrics(env.hearthd.base);
                if (m3.hearth_rooms_spread === 0) break;
                await sleep(200);
            }
            assert.equal(m3.hearth_rooms_spread, 0, 'bob and carol gone: the room is on its home alone');
            assert.equal(m3.hearth_worker_transports[1], 0, 'worker 1 hosts nothing');
        }, {hearthdArgs: ['--set', 'media.workers=2', '--set', 'media.isolation=process',
                          '--set', 'media.split_subscribers=1']}),
    },
];

await runIfMain(import.meta.url, tests);
