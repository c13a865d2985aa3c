/*
 * The SDK's media logic against real WebRTC peers, today: two HearthClients in one Chromium page
 * talk to fake_sfu.js, a stand-in for hearthd's media plane built from the browser's own
 * RTCPeerConnections (it answers publisher offers, offers subscriber revisions one at a time,
 * trickles candidates, rewrites a=msid to participant/track ids and relays the data channel).
 * Checked: the join result's tracks, `track` events mapped to participant and server track id,
 * video decoded and audio received per participant through getStats(), media-state, text and
 * binary data tagged with the sender, the simulcast offer (rids q/h/f), revisions answered in
 * order, candidates sent both ways, request errors, leave. hearthd serves only the page here.
 *
 *   node sdk.test.mjs
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const fakeSfu = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake_sfu.js');

/* In the page: a fake room and two clients, alice (simulcast) joining first, then bob. */
async function setUp() {
    const {HearthClient} = await import('/sdk/hearth.js');
    const room = window.FakeHearth.room('fake');
    const t = {room, clients: {}, ev: {}};
    window.t = t;
    /* per remote participant: decoded frames and received samples (inbound-rtp) */
    t.inbound = async user => {
        const c = window.t.clients[user];
        const {subscriber} = await c.getStats();
        const out = {};
        subscriber.forEach(s => {
            if (s.type !== 'inbound-rtp') return;
            const r = c.remoteTracks.get(s.trackIdentifier);
            const e = out[r ? r.participant : 'unmapped'] ||= {frames: 0, samples: 0};
            if (s.kind === 'video')
                e.frames += s.framesDecoded || 0;
            else
                e.samples += s.totalSamplesReceived || 0;
        });
        return out;
    };
    for (const user of ['alice', 'bob']) {
        const c = new HearthClient({WebSocket: room.WebSocket, requestTimeoutMs: 5000});
        const ev = {
            track: [],
            data: [],
            state: [],
            joined: [],
            left: [],
            published: [],
            error: [],
            disconnected: []
        };
        c.addEventListener('track', e => ev.track.push({
            participant: e.detail.participant,
            trackId: e.detail.trackId,
            kind: e.detail.kind,
            stream: e.detail.stream.id,
            isTrack: e.detail.track instanceof MediaStreamTrack
        }));
        c.addEventListener('data', e => ev.data.push({
            from: e.detail.from,
            data: typeof e.detail.data === 'string' ? e.detail.data :
                                                      [...new Uint8Array(e.detail.data)]
        }));
        c.addEventListener('media-state', e => ev.state.push(e.detail));
        c.addEventListener('participant-joined', e => ev.joined.push(e.detail.participant.user));
        c.addEventListener(
            'participant-left', e => ev.left.push([e.detail.participant.user, e.detail.reason]));
        c.addEventListener('track-published', e => ev.published.push(e.detail.track.id));
        c.addEventListener('error', e => ev.error.push(`${e.detail.context}: ${e.detail.error}`));
        c.addEventListener('disconnected', e => ev.disconnected.push(e.detail));
        const result = await c.join({
            ticket: `user:${user}`,
            signalUrl: 'ws://fake.invalid/v1/signal?v=2',
            room: 'fake',
            iceServers: []
        });
        const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
        const transceivers = await c.publish(stream, {simulcast: user === 'alice'});
        t.clients[user] = c;
        t[`${user}Stream`] = stream;
        t.ev[user] = ev;
        t[`${user}Join`] = {
            participant: result.participant.id,
            others: result.room.participants.map(p => p.user),
            tracks: result.room.tracks.map(x => x.id),
            mids: transceivers.map(x => x.mid)
        };
    }
    return {alice: t.aliceJoin, bob: t.bobJoin};
}

export const tests = [
    {
        name: 'two clients publish, receive and exchange data through a fake SFU',
        timeoutMs: 90000,
        fn: () => withEnv(async env => {
            const {page} = await env.openDemo('sdk', {publish: '0'});
            await page.addScriptTag({path: fakeSfu});
            const joins = await page.evaluate(setUp);
            const A = joins.alice.participant, B = joins.bob.participant;
            assert.deepEqual(joins.alice.others, []);
            assert.deepEqual(joins.bob.others, ['alice'], 'bob\'s join result lists alice');
            assert.deepEqual(
                joins.bob.tracks.sort(), [`TR_${A}_audio`, `TR_${A}_video`],
                'bob\'s join result lists alice\'s tracks');
            assert.ok(
                joins.alice.mids.every(m => typeof m === 'string'),
                'publish() resolves negotiated');

            /* each side gets the other's audio and video, named by participant and track id */
            for (const [rx, tx] of [['alice', B], ['bob', A]]) {
                const tracks = await until(
                    page, ([u]) => window.t.ev[u].track.length >= 2 && window.t.ev[u].track, [rx],
                    {what: `${rx}'s remote tracks`});
                const got =
                    tracks.map(x => [x.kind, x.participant, x.stream, x.trackId, x.isTrack]).sort();
                assert.deepEqual(
                    got,
                    [
                        ['audio', tx, tx, `TR_${tx}_audio`, true],
                        ['video', tx, tx, `TR_${tx}_video`, true]
                    ],
                    `${rx}'s track events`);
            }

            /* media really flows: frames decoded and samples received keep growing */
            for (const [rx, tx] of [['alice', B], ['bob', A]]) {
                const first = await until(page, async ([u, id]) => {
                    const s = (await window.t.inbound(u))[id];
                    return s && s.frames > 0 && s.samples > 0 && s;
                }, [rx, tx], {timeout: 30000, what: `${rx} decodes ${tx}`});
                await new Promise(r => setTimeout(r, 1000));
                const later = await page.evaluate(([u]) => window.t.inbound(u), [rx]);
                assert.ok(
                    later[tx].frames > first.frames,
                    `${rx}: framesDecoded grows ${JSON.stringify([first, later])}`);
                assert.ok(later[tx].samples > first.samples, `${rx}: totalSamplesReceived grows`);
                assert.equal(
                    later.unmapped, undefined, `${rx}: every inbound-rtp maps to a participant`);
            }

            /* data: text and binary, tagged with the sender, not echoed back */
            await until(
                page, () => ['alice', 'bob'].every(u => window.t.clients[u].dataReady), null,
                {what: 'both data channels open'});
            await page.evaluate(() => {
                window.t.clients.alice.sendData('hello bob');
                window.t.clients.bob.sendData(new Uint8Array([0, 10, 255]).buffer);
            });
            const data = await until(
                page,
                () => window.t.ev.alice.data.length && window.t.ev.bob.data.length &&
                    {alice: window.t.ev.alice.data, bob: window.t.ev.bob.data},
                null, {what: 'data at both'});
            assert.deepEqual(
                data,
                {alice: [{from: B, data: [0, 10, 255]}], bob: [{from: A, data: 'hello bob'}]});
            const tooBig = await page.evaluate(() => {
                try {
                    window.t.clients.alice.sendData('x'.repeat(65537));
                    return 'sent';
                } catch (e) {
                    return e.code;
                }
            });
            assert.equal(tooBig, 'message_too_large');

            /* what went over the wire */
            const wire = await page.evaluate(() => {
                const log = window.t.room.log;
                const sessionOf = id =>
                    window.t.clients.alice.participantId === id ? 'alice' : 'bob';
                const w = {
                    answers: {alice: [], bob: []},
                    candidates: {},
                    errorsOut: 0,
                    serverStates: {},
                    offers: window.t.room.offers
                };
                for (const {dir, session, msg} of log) {
                    if (!session) continue;
                    const who = sessionOf(session);
                    if (dir === 'in' && msg.type === 'sdp.answer')
                        w.answers[who].push(msg.data.revision);
                    if (dir === 'in' && msg.type === 'ice.candidate') {
                        const k =
                            `${who}/${msg.data.pc}/${msg.data.candidate === '' ? 'end' : 'cand'}`;
                        w.candidates[k] = (w.candidates[k] || 0) + 1;
                    }
                    if (dir === 'out' && msg.type === 'error') w.errorsOut++;
                }
                for (const u of ['alice', 'bob'])
                    w.serverStates[u] =
                        window.t.ev[u]
                            .state.filter(s => s.source === 'server' && s.state === 'connected')
                            .map(s => s.pc)
                            .sort();
                w.clientErrors = [...window.t.ev.alice.error, ...window.t.ev.bob.error];
                return w;
            });
            assert.equal(wire.errorsOut, 0, 'the fake server refused nothing');
            assert.deepEqual(wire.clientErrors, [], 'no error events');
            for (const u of ['alice', 'bob']) {
                const revs = wire.answers[u];
                assert.ok(revs.length >= 1, `${u} answered subscriber offers`);
                assert.deepEqual(
                    revs, revs.map((_, i) => i + 1), `${u} answered revisions 1..n in order`);
                for (const pc of ['publisher', 'subscriber']) {
                    assert.ok(
                        wire.candidates[`${u}/${pc}/cand`] >= 1, `${u} trickled ${pc} candidates`);
                    assert.ok(
                        wire.candidates[`${u}/${pc}/end`] >= 1,
                        `${u} sent ${pc} end-of-candidates`);
                }
                assert.deepEqual(
                    wire.serverStates[u], ['publisher', 'subscriber'],
                    `${u}: media.state connected`);
            }
            /* alice's first offer carries only the data channel; a later one her simulcast video */
            assert.match(wire.offers[0], /m=application /);
            assert.doesNotMatch(wire.offers[0], /m=video /);
            const simulcast = wire.offers.find(o => /m=video /.test(o) && /a=simulcast/.test(o));
            assert.ok(simulcast, 'a publisher offer with simulcast');
            for (const rid of ['q', 'h', 'f'])
                assert.match(simulcast, new RegExp(`a=rid:${rid} send`));
            assert.match(simulcast, /a=simulcast:send q;h;f/);

            /* unpublish: a new offer stops sending alice's video; her audio still goes */
            const after = await page.evaluate(async () => {
                const n = window.t.room.offers.length;
                await window.t.clients.alice.unpublish(window.t.aliceStream.getVideoTracks()[0]);
                const offer = window.t.room.offers[window.t.room.offers.length - 1];
                const video = offer.split(/(?=m=)/).find(m => m.startsWith('m=video'));
                const audio = offer.split(/(?=m=)/).find(m => m.startsWith('m=audio'));
                const unknown =
                    await window.t.clients.alice.unpublish(window.t.aliceStream.getVideoTracks()[0])
                        .then(() => 'ok', e => e.code);
                return {
                    newOffers: window.t.room.offers.length - n,
                    videoInactive: /a=inactive/.test(video),
                    audioSends: /a=sendonly/.test(audio),
                    unknown
                };
            });
            assert.deepEqual(
                after,
                {newOffers: 1, videoInactive: true, audioSends: true, unknown: 'unknown_track'});

            /* requests: ack and error replies */
            const req = await page.evaluate(async a => {
                const c = window.t.clients.bob;
                const ok = await c.subscribe(`TR_${a}_video`);
                const bad = await c.pause('no-such-track').then(() => 'acked', e => e.code);
                return {ok, bad};
            }, A);
            assert.deepEqual(req, {ok: {}, bad: 'unknown_track'});

            /* leave: the other side is told, the leaver is closed */
            await page.evaluate(() => window.t.clients.bob.leave());
            const gone = await until(
                page, () => window.t.ev.alice.left.length && {
                    left: window.t.ev.alice.left,
                    bob: window.t.clients.bob.state,
                    disconnected: window.t.ev.bob.disconnected
                },
                null, {what: 'alice sees bob leave'});
            assert.deepEqual(gone, {
                left: [['bob', 'left']],
                bob: 'closed',
                disconnected: [{reason: 'left', code: 1000}]
            });
            await page.evaluate(() => window.t.clients.alice.leave());
        }),
    },
];

await runIfMain(import.meta.url, tests);
