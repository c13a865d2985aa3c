/*
 * Moderation bites on media, in Chromium. pub and lis publish and watch each other; mod
 * (receive-only, the moderate grant) acts through the SDK.
 *
 * 1. mod times pub out 100 times (and lifts it each time): pub's media stops arriving at lis,
 *    while pub keeps receiving lis. The time from mod's acknowledgement to the last packet of
 *    pub's that lis receives is measured each time (inbound-rtp lastPacketReceivedTimestamp, the
 *    same clock as Date.now() on this machine); p50/p99/max are printed and p99 must be <= 100 ms.
 *    Then once through the demo page's own control (mod clicks "Timeout pub"): pub's page shows
 *    who timed it out.
 * 2. mod kicks pub: its socket closes (reason kicked) and its media stops arriving at lis within
 *    the same bound.
 * 3. The operator revokes lis's platform session (sid) through the admin API: lis's media stops
 *    arriving at mod within the same bound, measured from the admin answer.
 *
 *   node moderation.test.mjs
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {joinDemo, videoFrom} from './call.mjs';
import {sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const ROUNDS = 100; /* p99 of 100: one outlier allowed (a page descheduled while packets arrive) */
const LIMIT_MS = 100;
const QUIET_MS = 250; /* no new packet for this long: the stream has stopped */

/*
 * In a page: packets received from participant `from` and the newest packet's arrival time. A
 * watcher in the page polls the subscriber PC every 5 ms and keeps the highest values it saw per
 * stream (by mid), so what arrived is still known once the SDK has dropped a kicked
 * participant's tracks and Chromium their statistics.
 */
function receivedFrom(page, from) {
    return page.evaluate(from => {
        const w = (window.watchers ||= {});
        if (!w[from]) {
            const state = w[from] = {mids: new Set(), streams: new Map()};
            const poll = async () => {
                const client = window.hearthDemo.client;
                if (client && client.subscriberPc) {
                    for (const t of client.remoteTracks.values())
                        if (t.participant === from) state.mids.add(t.mid);
                    const report = await client.subscriberPc.getStats();
                    report.forEach(s => {
                        if (s.type === 'inbound-rtp' && state.mids.has(s.mid))
                            state.streams.set(s.mid, {packets: s.packetsReceived || 0,
                                                      last: s.lastPacketReceivedTimestamp || 0});
                    });
                }
                setTimeout(poll, 5);
            };
            poll();
        }
        const out = {packets: 0, last: 0};
        for (const v of w[from].streams.values()) {
            out.packets += v.packets;
            out.last = Math.max(out.last, v.last);
        }
        return out;
    }, from);
}

/* Wait until `page` receives nothing more from `from`; ms from ackAt to the last packet. */
async function stopLatency(page, from, ackAt) {
    let prev = await receivedFrom(page, from), quietSince = Date.now();
    const deadline = Date.now() + 5000;
    while (Date.now() - quietSince < QUIET_MS) {
        if (Date.now() > deadline) throw new Error(`media from ${from} still arriving 5 s after the action`);
        await sleep(10);
        const now = await receivedFrom(page, from);
        if (now.packets !== prev.packets) quietSince = Date.now();
        prev = now;
    }
    assert.ok(prev.last > 0, 'inbound-rtp has lastPacketReceivedTimestamp');
    return Math.max(0, prev.last - ackAt);
}

async function flowing(page, from, timeout = 10000) {
    const a = await receivedFrom(page, from);
    const deadline = Date.now() + timeout;
    for (;;) {
        await sleep(50);
        const b = await receivedFrom(page, from);
        if (b.packets > a.packets) return b;
        if (Date.now() > deadline) throw new Error(`no media from ${from} within ${timeout} ms`);
    }
}

/* mod's SDK call; resolves with Date.now() at the acknowledgement. */
function act(mod, action, target) {
    return mod.page.evaluate(async ([action, target]) => {
        await window.hearthDemo.client.moderate(action, target);
        return Date.now();
    }, [action, target]);
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];

export const tests = [
    {
        name: 'timeout, kick and revocation stop media within 100 ms of the acknowledgement',
        timeoutMs: 240000,
        fn: () => withEnv(async env => {
            const room = 'browser-moderation';
            const pub = await joinDemo(env, 'pub', room);
            const lis = await env.openDemo('lis', {room, user: 'lis', sid: 'sid-lis', autojoin: '1'});
            await until(lis.page, () => !!(window.hearthDemo.published), null, {what: 'lis publishing'});
            await lis.page.evaluate(() => window.hearthDemo.published);
            lis.id = await lis.page.evaluate(() => window.hearthDemo.client.participantId);
            const mod = await env.openDemo('mod', {room, user: 'mod', publish: '0', moderate: '1',
                                                   autojoin: '1'});
            await until(mod.page, () => window.hearthDemo.client &&
                                        window.hearthDemo.client.state === 'joined', null,
                        {what: 'mod joined'});
            await videoFrom(lis.page, pub.id);
            await videoFrom(pub.page, lis.id);
            await videoFrom(mod.page, lis.id);

            /* 1. timeouts */
            const lat = [];
            for (let i = 0; i < ROUNDS; i++) {
                const ackAt = await act(mod, 'timeout', {participant: pub.id, duration_s: 60});
                lat.push(await stopLatency(lis.page, pub.id, ackAt));
                if (i === 0) await flowing(pub.page, lis.id); /* the timed-out one still hears */
                await act(mod, 'untimeout', {user: 'pub'});
                await flowing(lis.page, pub.id);
            }
            /* The demo's controls: mod clicks "Timeout pub"; pub sees why it went quiet. */
            await mod.page.getByRole('button', {name: 'Timeout pub'}).click();
            const told = await until(pub.page, () => /timed you out/.test(window.hearthDemo.notice) &&
                                                     window.hearthDemo.notice, null,
                                     {what: 'pub told it was timed out'});
            assert.match(told, /mod timed you out/);
            assert.equal(await pub.page.getByRole('alert').isVisible(), true, 'the notice is shown');
            await act(mod, 'untimeout', {user: 'pub'});
            await flowing(lis.page, pub.id);
            console.log(`  timeout -> media stopped at lis, ${ROUNDS} actions: p50 ${pct(lat, 0.5)} ms, ` +
                        `p99 ${pct(lat, 0.99)} ms, max ${Math.max(...lat)} ms; the worst five: ` +
                        [...lat].sort((a, b) => b - a).slice(0, 5).map(Math.round).join(', '));
            assert.ok(pct(lat, 0.99) <= LIMIT_MS, `timeout p99 ${pct(lat, 0.99)} ms <= ${LIMIT_MS} ms`);

            /* 2. kick */
            const kickAt = await act(mod, 'kick', {participant: pub.id, reason: 'test'});
            const kickMs = await stopLatency(lis.page, pub.id, kickAt);
            const gone = await until(pub.page, () => window.hearthDemo.client.state === 'closed' &&
                                                        window.hearthDemo.notice, null,
                                     {what: 'pub disconnected'});
            assert.match(gone, /kicked/, 'pub is told it was kicked');
            console.log(`  kick -> media stopped at lis: ${kickMs} ms`);
            assert.ok(kickMs <= LIMIT_MS, `kick ${kickMs} ms <= ${LIMIT_MS} ms`);

            /* 3. revocation of lis's platform session, by the operator */
            const key = fs.readFileSync(path.join(env.hearthd.dir, 'data', 'admin.key'), 'utf8').trim();
            await flowing(mod.page, lis.id);
            const res = await fetch(`${env.hearthd.base}/v1/admin/revocations`, {
                method: 'POST',
                headers: {'Authorization': `Bearer ${key}`, 'Content-Type': 'application/json'},
                body: JSON.stringify({sid: 'sid-lis', reason: 'test'}),
            });
            const revokedAt = Date.now();
            assert.equal(res.status, 201, 'revocation accepted');
            assert.equal((await res.json()).disconnected, 1, 'one session disconnected');
            const revMs = await stopLatency(mod.page, lis.id, revokedAt);
            console.log(`  revoked sid -> media stopped at mod: ${revMs} ms`);
            assert.ok(revMs <= LIMIT_MS, `revocation ${revMs} ms <= ${LIMIT_MS} ms`);

            /* The engine's own view of it (docs/moderation.md). */
            const metrics = await (await fetch(`${env.hearthd.base}/metrics`)).text();
            assert.match(metrics, /hearth_moderation_media_stop_seconds_count \d+/);
            assert.match(metrics, /hearth_forced_disconnect_media_seconds_count [1-9]/);
        }),
    },
];

await runIfMain(import.meta.url, tests);
