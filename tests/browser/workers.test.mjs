/*
 * Media workers (issue 13, media.workers, sfu/workers.h): hearthd with two media worker
 * processes (media.isolation = process: `hearthd --media-worker`, sfu/remote.h), each with its
 * own loop and UDP/TCP ports. Two rooms of two Chromium pages each (the demo page,
 * the fake camera and microphone): every page decodes the other page of its room. The rooms
 * land on different workers (the second room goes to the worker with fewer transports), each
 * room's four transports on one worker (`hearth_worker_transports{worker}` 4 and 4), and both
 * workers forward (`hearth_worker_packets_sent_total{worker}` grows on each). Each page's
 * selected candidate pair names its room's worker's UDP port (from the `media.ready ...
 * worker=N` log lines), so the media really crossed that worker's socket.
 *
 * Then the first room's worker process is killed (kill -9). hearthd starts it again, and the
 * room's two pages, told `disconnect` reason `media_restart` with a resume hint, resume by
 * themselves (same participants, `reconnected` with media `renew`) and decode each other again
 * on a live worker; the other room is not touched (it keeps decoding, no `reconnecting`).
 * Printed: kill -9 -> each page resumed, -> decoding again.
 *
 *   node workers.test.mjs
 */
import assert from 'node:assert/strict';

import {selectedPair, workerMetrics as metricSamples, workerPorts} from './call.mjs';
import {sleep, until, withEnv} from './harness.mjs';
import {joinAndPublish} from './media.test.mjs';
import {runIfMain} from './runner.mjs';

const MEDIA_WAIT_MS = 30000;

async function decodes(rx, tx) {
    const first = await until(rx.page, async id =>
        ((await window.hearthDemo.stats())[id] || {}).framesDecoded || 0, tx.id,
                              {timeout: MEDIA_WAIT_MS, what: `${rx.name} decodes ${tx.name}`});
    await sleep(1000);
    const later = await rx.page.evaluate(async id =>
        ((await window.hearthDemo.stats())[id] || {}).framesDecoded || 0, tx.id);
    assert.ok(later > first, `${rx.name} keeps decoding ${tx.name} (${first} -> ${later})`);
}

export const tests = [
    {
        name: 'two rooms on two worker processes: each on its own, every page decodes its peer; kill -9 of one: its room resumes',
        timeoutMs: 150000,
        fn: () => withEnv(async env => {
            const log = () => env.hearthd.log();
            const ports = workerPorts(log());
            assert.deepEqual(Object.keys(ports).sort(), ['0', '1'], 'two workers started');
            assert.notEqual(ports[0], ports[1], 'each with its own UDP port');

            const rooms = [['alice', 'bob', 'workers-one'], ['carol', 'dave', 'workers-two']];
            const pages = [];
            for (const [a, b, room] of rooms) {
                const pa = await joinAndPublish(env, a, room);
                const pb = await joinAndPublish(env, b, room);
                pages.push([pa, pb]);
            }
            for (const [pa, pb] of pages) {
                await decodes(pa, pb);
                await decodes(pb, pa);
            }
            const before = await metricSamples(env.hearthd.base);
            assert.deepEqual(before.hearth_worker_transports, {0: 4, 1: 4},
                             'each room\'s four transports on one worker, one room per worker');
            /* each page's media crossed its room's worker: the pair's remote port */
            const used = [], pairs = [];
            for (const [pa, pb] of pages) {
                const pair = await selectedPair(pa.page);
                pairs.push(pair);
                const pairB = await selectedPair(pb.page);
                assert.equal(pair.remotePort, pairB.remotePort,
                             `${pa.name} and ${pb.name} use one worker`);
                used.push(pair.remotePort);
            }
            assert.deepEqual([...used].sort(), [ports[0], ports[1]].sort(),
                             'the two rooms use the two workers\' ports');
            await sleep(2500); /* a stats round */
            const after = await metricSamples(env.hearthd.base);
            for (const w of ['0', '1'])
                assert.ok((after.hearth_worker_packets_sent_total || {})[w] >
                              ((before.hearth_worker_packets_sent_total || {})[w] || 0),
                          `worker ${w} forwards: ${JSON.stringify(after)}`);
            console.log(`  workers: udp ${ports[0]} and ${ports[1]}; packets sent ${
                JSON.stringify(after.hearth_worker_packets_sent_total)}`);

            /* kill -9 of the first room's worker */
            const [pa, pb] = pages[0];
            const victim = Object.keys(ports).find(w => ports[w] === pairs[0].remotePort);
            const pid = Number([...log().matchAll(
                new RegExp(`media\\.ready .* worker=${victim} pid=(\\d+)`, 'g'))].pop()[1]);
            for (const p of [...pages[0], ...pages[1]])
                await p.page.evaluate(() => {
                    const c = window.hearthDemo.client;
                    window.rt = {reconnected: null, reconnecting: 0, disconnected: null};
                    c.addEventListener('reconnecting', () => window.rt.reconnecting++);
                    c.addEventListener('reconnected',
                                       e => window.rt.reconnected = {at: Date.now(), ...e.detail});
                    c.addEventListener('disconnected', e => window.rt.disconnected = {...e.detail});
                });
            const killedAt = Date.now();
            process.kill(pid, 'SIGKILL');
            for (const p of [pa, pb]) {
                const r = await until(p.page, () => window.rt.reconnected || window.rt.disconnected,
                                      null, {timeout: 30000, what: `${p.name} resumed`});
                assert.ok(r.at, `${p.name} resumed, not disconnected: ${JSON.stringify(r)}`);
                assert.equal(r.media, 'renew', `${p.name}: new media`);
                assert.equal(await p.page.evaluate(() => window.hearthDemo.client.participantId),
                             p.id, `${p.name} is the same participant`);
                p.resumedMs = r.at - killedAt;
            }
            await decodes(pa, pb);
            const decodedMs = Date.now() - killedAt;
            await decodes(pb, pa);
            const [pc, pd] = pages[1];
            await decodes(pc, pd); /* the other room went on */
            for (const p of pages[1])
                assert.equal(await p.page.evaluate(() => window.rt.reconnecting), 0,
                             `${p.name} (the other worker's room) did not reconnect`);
            assert.match(log(), new RegExp(`media\\.worker_died worker=${victim} .*signal=9`));
            console.log(`  kill -9 of worker ${victim} (pid ${pid}) -> ${pa.name} resumed ${
                pa.resumedMs} ms, ${pb.name} ${pb.resumedMs} ms; decoding again by ${decodedMs} ms`);
        }, {hearthdArgs: ['--set', 'media.workers=2', '--set', 'media.isolation=process']}),
    },
];

await runIfMain(import.meta.url, tests);
