/*
 * A late joiner sees everyone at once: alice and bob publish and watch each other, then carol
 * joins (receive-only) and must decode video from both within 1 s of her subscriber PC reaching
 * "connected". The publishers' encoders send keyframes rarely on their own, so this measures the
 * SFU's keyframe request (PLI to each publisher when a consumer starts) and its forwarding.
 *
 * Measured in carol's page: the time of the subscriber PC's connectionState change to
 * "connected" (performance.now()), then inbound-rtp polled every 20 ms until framesDecoded > 0,
 * per remote participant. The times are printed.
 *
 *   node late_joiner.test.mjs
 */
import assert from 'node:assert/strict';

import {inboundByParticipant, joinDemo, MEDIA_WAIT_MS, videoFrom} from './call.mjs';
import {sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const LIMIT_MS = 1000;

/* In carol's page: join, note when the subscriber PC connects and when each remote decodes. */
function joinAndMeasure() {
    const demo = window.hearthDemo;
    const m = {connectedAt: null, firstFrameAt: {}, states: [], error: null};
    window.lateJoin = m;
    const joining = demo.join({publish: false});
    demo.client.addEventListener('media-state', ({detail}) => {
        if (detail.source !== 'local' || detail.pc !== 'subscriber') return;
        m.states.push(detail.state);
        if (detail.state === 'connected' && m.connectedAt === null)
            m.connectedAt = performance.now();
    });
    const poll = async () => {
        const client = demo.client;
        if (client.state === 'closed') return;
        if (m.connectedAt !== null && client.subscriberPc) {
            const report = await client.subscriberPc.getStats();
            const now = performance.now();
            report.forEach(s => {
                if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !(s.framesDecoded > 0))
                    return;
                const t = client.remoteTracks.get(s.trackIdentifier);
                const id = t ? t.participant : 'unmapped';
                if (!(id in m.firstFrameAt)) m.firstFrameAt[id] = now - m.connectedAt;
            });
        }
        setTimeout(poll, 20);
    };
    poll();
    return joining.then(r => r.participant.id, e => {
        m.error = `${e.code || ''} ${e.message}`;
        return null;
    });
}

export const tests = [
    {
        name: 'a late joiner decodes both publishers within 1 s of connecting',
        timeoutMs: 90000,
        fn: () => withEnv(async env => {
            const room = 'browser-late';
            const alice = await joinDemo(env, 'alice', room);
            const bob = await joinDemo(env, 'bob', room);
            await videoFrom(alice.page, bob.id);
            await videoFrom(bob.page, alice.id);
            /* the publishers' last keyframe is now old: carol's first frames need a new one */
            await sleep(3000);

            const carol = await env.openDemo('carol', {room, user: 'carol', publish: '0'});
            const carolId = await carol.page.evaluate(joinAndMeasure);
            assert.ok(carolId, 'carol joined');
            const m =
                await until(
                    carol.page,
                    ids => ids.every(id => id in window.lateJoin.firstFrameAt) && window.lateJoin,
                    [alice.id, bob.id],
                    {timeout: MEDIA_WAIT_MS, what: 'carol decodes alice and bob'})
                    .catch(async e => {
                        const state = await carol.page.evaluate(() => window.lateJoin);
                        const stats = await inboundByParticipant(carol.page);
                        e.message += `\ncarol: ${JSON.stringify(state)}\ninbound-rtp: ${
                            JSON.stringify(stats)}`;
                        throw e;
                    });
            const times = {alice: m.firstFrameAt[alice.id], bob: m.firstFrameAt[bob.id]};
            console.log(`      late join: first decoded frame after subscriber connected: alice ${
                times.alice.toFixed(0)} ms, bob ${times.bob.toFixed(0)} ms`);
            assert.equal(m.error, null);
            assert.ok(m.states.includes('connected'), `subscriber states ${m.states}`);
            assert.equal(m.firstFrameAt.unmapped, undefined, 'every inbound-rtp maps to a remote');
            for (const [who, ms] of Object.entries(times))
                assert.ok(
                    ms <= LIMIT_MS,
                    `carol decoded ${who}'s first frame ${ms.toFixed(0)} ms after her subscriber ` +
                        `PC connected (limit ${LIMIT_MS} ms)`);

            /* and keeps decoding both */
            const first = await inboundByParticipant(carol.page);
            await sleep(1000);
            const later = await inboundByParticipant(carol.page);
            for (const p of [alice, bob])
                assert.ok(
                    later[p.id].video.framesDecoded > first[p.id].video.framesDecoded,
                    `carol keeps decoding ${p.name}: ${
                        JSON.stringify([first[p.id], later[p.id]])}`);
        }),
    },
];

await runIfMain(import.meta.url, tests);
