/*
 * The SDK's media logic against the real hearthd: two HearthClients in one Chromium page (alice
 * publishing simulcast, bob plain), each with a WebSocket that records every message both ways.
 * Checked: the join result's participants and tracks, `track` events mapped to the publishing
 * participant and the server's track id, video decoded and audio received per participant
 * (getStats), text and binary data tagged with the sender, subscriber offers answered in order
 * with their revisions, candidates trickled on both PCs, media.state from the server, the
 * simulcast offer accepted (a=simulcast recv in the answer) and layer switching, track.pause /
 * resume, pin() and unpin, error codes (unknown_track, bad_request, message_too_large), unpublish
 * (the other side gets track.unpublished and a new subscriber offer; the rest keeps flowing),
 * leave.
 *
 *   node sdk.test.mjs
 */
import assert from 'node:assert/strict';

import {sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

/* In the page: alice (simulcast) joins and publishes, then bob; both record events and wire. */
async function setUp() {
    const {HearthClient} = await import('/sdk/hearth.js');
    const t = {clients: {}, ev: {}, wire: {}, streams: {}, joins: {}};
    window.t = t;
    /* per remote participant and kind: inbound-rtp counters */
    t.inbound = async user => {
        const c = window.t.clients[user];
        const {subscriber} = await c.getStats();
        const out = {};
        subscriber.forEach(s => {
            if (s.type !== 'inbound-rtp') return;
            const r = c.remoteTracks.get(s.trackIdentifier);
            const p = out[r ? r.participant : 'unmapped'] ||= {};
            const e = p[s.kind] ||= {frames: 0, samples: 0, packets: 0, width: 0};
            e.frames += s.framesDecoded || 0;
            e.samples += s.totalSamplesReceived || 0;
            e.packets += s.packetsReceived || 0;
            e.width = Math.max(e.width, s.frameWidth || 0);
        });
        return out;
    };
    for (const user of ['alice', 'bob']) {
        const wire = [];
        class RecordingWebSocket extends WebSocket {
            constructor(url) {
                super(url);
                this.addEventListener(
                    'message', m => wire.push({dir: 'in', msg: JSON.parse(m.data)}));
            }
            send(text) {
                wire.push({dir: 'out', msg: JSON.parse(text)});
                super.send(text);
            }
        }
        const c = new HearthClient({WebSocket: RecordingWebSocket});
        const ev = {
            track: [],
            data: [],
            left: [],
            published: [],
            unpublished: [],
            error: [],
            disconnected: []
        };
        /* Chromium decodes remote audio only for a sink: play it (the browser runs muted) */
        c.addEventListener('track', e => {
            if (e.detail.kind !== 'audio') return;
            const el = document.createElement('audio');
            el.autoplay = true;
            el.srcObject = new MediaStream([e.detail.track]);
            document.body.append(el);
        });
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
        c.addEventListener(
            'participant-left', e => ev.left.push([e.detail.participant.user, e.detail.reason]));
        c.addEventListener('track-published', e => ev.published.push(e.detail.track));
        c.addEventListener('track-unpublished', e => ev.unpublished.push(e.detail.track));
        c.addEventListener('error', e => ev.error.push(`${e.detail.context}: ${e.detail.error}`));
        c.addEventListener('disconnected', e => ev.disconnected.push(e.detail));
        const ticket = await HearthClient.fetchTicket(location.origin, {room: 'browser-sdk', user});
        const result = await c.join({ticket});
        /* the server's channel to us, on the subscriber PC: it relays the others' messages */
        c.subscriberPc.addEventListener('datachannel', e => ev.dcIn = e.channel);
        t.clients[user] = c;
        t.ev[user] = ev;
        t.wire[user] = wire;
        const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
        t.streams[user] = stream;
        const transceivers = await c.publish(stream, {simulcast: user === 'alice'});
        t.joins[user] = {
            participant: result.participant.id,
            others: result.room.participants.map(p => p.user),
            tracks: result.room.tracks,
            mids: transceivers.map(x => x.mid)
        };
    }
    return t.joins;
}

/* The engine debug dump's last consumer and track lines (HX_ENGINE_DEBUG=1), for messages. */
function engineConsumers(log) {
    const last = new Map();
    for (const m of log.matchAll(/^ +(consumer|track) (\S+) .*$/gm))
        last.set(`${m[1]} ${m[2]}`, m[0].trim());
    return [...last.values()].join(' | ');
}

/* Tracks of participant `id` as the page of `user` knows them: join result + track.published. */
function announced(page, user, id) {
    return page.evaluate(([u, pid]) => {
        const t = window.t;
        return [...t.joins[u].tracks, ...t.ev[u].published]
            .filter(x => x.participant === pid)
            .map(x => ({id: x.id, kind: x.kind}))
            .sort((a, b) => a.kind.localeCompare(b.kind));
    }, [user, id]);
}

export const tests = [
    {
        name: 'two SDK clients publish, receive, renegotiate and exchange data via hearthd',
        timeoutMs: 120000,
        fn: () => withEnv(
            async env => {
                const {page} = await env.openDemo('sdk', {publish: '0'});
                const joins = await page.evaluate(setUp);
                const A = joins.alice.participant, B = joins.bob.participant;
                assert.deepEqual(joins.alice.others, []);
                assert.deepEqual(joins.bob.others, ['alice'], 'bob\'s join result lists alice');
                for (const u of ['alice', 'bob'])
                    assert.ok(
                        joins[u].mids.every(m => typeof m === 'string'),
                        `${u}: publish() negotiated`);

                /* each knows the other's two tracks (join result or track.published) */
                const tracksOf = {};
                for (const [rx, tx, id] of [['alice', 'bob', B], ['bob', 'alice', A]]) {
                    await until(page, ([u, pid]) => {
                        const t = window.t;
                        return [...t.joins[u].tracks, ...t.ev[u].published]
                                   .filter(x => x.participant === pid)
                                   .length >= 2;
                    }, [rx, id], {what: `${rx} knows ${tx}'s tracks`});
                    tracksOf[tx] = await announced(page, rx, id);
                    assert.deepEqual(tracksOf[tx].map(x => x.kind), ['audio', 'video']);
                }

                /* track events: kind, publishing participant, stream id, the server's track id */
                for (const [rx, tx, id] of [['alice', 'bob', B], ['bob', 'alice', A]]) {
                    const tracks = await until(
                        page, ([u]) => window.t.ev[u].track.length >= 2 && window.t.ev[u].track,
                        [rx], {what: `${rx}'s remote tracks`});
                    const got =
                        tracks.map(x => [x.kind, x.participant, x.stream, x.trackId, x.isTrack])
                            .sort();
                    assert.deepEqual(
                        got, tracksOf[tx].map(x => [x.kind, id, id, x.id, true]),
                        `${rx}'s track events`);
                }

                /*
             * media flows: frames decoded and samples received keep growing, all mapped. A
             * failure here is noted and the rest still runs (it is reported at the end).
             */
                const failures = [];
                for (const [rx, tx] of [['alice', B], ['bob', A]]) {
                    const first = await until(page, async ([u, id]) => {
                                      const s = (await window.t.inbound(u))[id];
                                      return s && s.video && s.video.frames > 0 && s.audio &&
                                          s.audio.samples > 0 && s;
                                  }, [rx, tx], {
                                      timeout: 15000,
                                      what: `${rx} decodes ${tx}`
                                  }).catch(async e => {
                        const stats = await page.evaluate(u => window.t.inbound(u), rx);
                        failures.push(
                            `${e.message}; inbound-rtp at ${rx}: ${JSON.stringify(stats)}` +
                            `; engine: ${engineConsumers(env.hearthd.log())}`);
                        return null;
                    });
                    if (!first) continue;
                    await sleep(1000);
                    const later = await page.evaluate(([u]) => window.t.inbound(u), [rx]);
                    assert.ok(
                        later[tx].video.frames > first.video.frames,
                        `${rx}: framesDecoded grows ${JSON.stringify([first, later[tx]])}`);
                    assert.ok(
                        later[tx].audio.samples > first.audio.samples,
                        `${rx}: totalSamplesReceived grows`);
                    assert.equal(
                        later.unmapped, undefined,
                        `${rx}: every inbound-rtp maps to a participant`);
                }

                /* data: text and binary, tagged with the sender, not echoed back */
                await until(
                    page,
                    () => ['alice', 'bob'].every(
                        u => window.t.clients[u].dataReady && window.t.ev[u].dcIn &&
                            window.t.ev[u].dcIn.readyState === 'open'),
                    null, {what: 'both data channels open, both ways'});
                await page.evaluate(() => {
                    window.t.clients.alice.sendData('hello bob');
                    window.t.clients.bob.sendData(new Uint8Array([0, 10, 255]).buffer);
                });
                const data =
                    await until(
                        page,
                        () => window.t.ev.alice.data.length && window.t.ev.bob.data.length &&
                            {alice: window.t.ev.alice.data, bob: window.t.ev.bob.data},
                        null, {what: 'data at both'})
                        .catch(async e => {
                            e.message += `; received: ${
                                JSON.stringify(
                                    await page.evaluate(() => ({
                                                            alice: window.t.ev.alice.data,
                                                            bob: window.t.ev.bob.data
                                                        })))}`;
                            throw e;
                        });
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

                /* the simulcast offer was accepted: the answer receives q, h and f */
                const sim = await page.evaluate(() => {
                    const w = window.t.wire.alice;
                    const offers = w.filter(x => x.dir === 'out' && x.msg.type === 'sdp.offer');
                    const offer = offers.find(o => /a=simulcast/.test(o.msg.data.sdp));
                    const answer = offer &&
                        w.find(
                            x => x.dir === 'in' && x.msg.type === 'ack' &&
                                x.msg.id === offer.msg.id);
                    return {
                        offer: offer && offer.msg.data.sdp,
                        answer: answer && answer.msg.data.sdp
                    };
                });
                assert.ok(sim.offer, 'alice sent a simulcast offer');
                assert.match(sim.offer, /a=simulcast:send q;h;f/);
                assert.ok(sim.answer, 'the simulcast offer was answered');
                for (const rid of ['q', 'h', 'f'])
                    assert.match(sim.answer, new RegExp(`a=rid:${rid} recv`));
                assert.match(sim.answer, /a=simulcast:recv q;h;f/);

                /* layer choice: bob asks for q, then h; the decoded width follows */
                const videoA = tracksOf.alice.find(x => x.kind === 'video').id;
                const widths = {};
                for (const rid of ['q', 'h']) {
                    assert.deepEqual(
                        await page.evaluate(
                            ([id, r]) => window.t.clients.bob.setLayer(id, r), [videoA, rid]),
                        {});
                    await sleep(2500);
                    widths[rid] =
                        (await page.evaluate(() => window.t.inbound('bob')))[A].video.width;
                }
                console.log(
                    `      simulcast: bob decodes alice at width ${widths.q} (q), ${widths.h} (h)`);
                if (!(widths.q > 0 && widths.q < widths.h))
                    failures.push(
                        `track.layer: bob decodes alice's video at width ${widths.q} for q, ${
                            widths.h} for h (q must be smaller and non-zero); engine: ${
                            engineConsumers(env.hearthd.log())}`);

                /* what went over the wire */
                const wire = await page.evaluate(() => {
                    const w = {};
                    for (const u of ['alice', 'bob']) {
                        const log = window.t.wire[u];
                        const offers = log.filter(x => x.dir === 'in' && x.msg.type === 'sdp.offer')
                                           .map(x => x.msg.data.revision);
                        const answers =
                            log.filter(x => x.dir === 'out' && x.msg.type === 'sdp.answer')
                                .map(x => x.msg.data.revision);
                        const cands = {};
                        for (const x of log)
                            if (x.dir === 'out' && x.msg.type === 'ice.candidate') {
                                const k = `${x.msg.data.pc}/${
                                    x.msg.data.candidate === '' ? 'end' : 'cand'}`;
                                cands[k] = (cands[k] || 0) + 1;
                            }
                        const errors = log.filter(x => x.dir === 'in' && x.msg.type === 'error')
                                           .map(x => x.msg.data.code);
                        const states = log.filter(
                                              x => x.dir === 'in' && x.msg.type === 'media.state' &&
                                                  x.msg.data.state === 'connected')
                                           .map(x => x.msg.data.pc);
                        w[u] = {
                            offers,
                            answers,
                            cands,
                            errors,
                            states: [...new Set(states)].sort(),
                            clientErrors: window.t.ev[u].error
                        };
                    }
                    return w;
                });
                for (const u of ['alice', 'bob']) {
                    const x = wire[u];
                    assert.deepEqual(x.errors, [], `${u}: the server refused nothing`);
                    assert.deepEqual(x.clientErrors, [], `${u}: no error events`);
                    assert.ok(x.offers.length >= 1, `${u} got subscriber offers`);
                    assert.deepEqual(x.answers, x.offers, `${u} answered every revision, in order`);
                    assert.ok(
                        x.offers.every((r, i) => i === 0 || r > x.offers[i - 1]),
                        `${u}: revisions increase ${x.offers}`);
                    for (const pc of ['publisher', 'subscriber'])
                        assert.ok(x.cands[`${pc}/cand`] >= 1, `${u} trickled ${pc} candidates`);
                    assert.deepEqual(
                        x.states, ['publisher', 'subscriber'], `${u}: media.state connected`);
                }

                /* requests: acks and error codes */
                const audioA = tracksOf.alice.find(x => x.kind === 'audio').id;
                const videoB = tracksOf.bob.find(x => x.kind === 'video').id;
                const req = await page.evaluate(async ([a, own, v]) => {
                    const c = window.t.clients.bob;
                    const code = p => p.then(() => 'acked', e => e.code);
                    return {
                        again: await c.subscribe(a),
                        pinned: await c.pin(v),
                        unpinned: await c.pin(v, false),
                        pinNoSuch: await code(c.pin('no-such-track')),
                        pinOwn: await code(c.pin(own)),
                        noSuch: await code(c.pause('no-such-track')),
                        own: await code(c.subscribe(own)),
                        noTrack: await code(c.request('track.pause', {})),
                        noPc: await code(c.request('sdp.answer', {pc: 'nope', sdp: 'x'})),
                        staleRevision: await code(c.request(
                            'sdp.answer', {pc: 'subscriber', sdp: 'v=0', revision: 9999})),
                    };
                }, [audioA, videoB, videoA]);
                assert.deepEqual(req, {
                    again: {},
                    pinned: {},
                    unpinned: {},
                    pinNoSuch: 'unknown_track',
                    pinOwn: 'unknown_track',
                    noSuch: 'unknown_track',
                    own: 'unknown_track',
                    noTrack: 'bad_request',
                    noPc: 'bad_request',
                    staleRevision: 'bad_request'
                });

                const audioPackets = () =>
                    page.evaluate(a => window.t.inbound('bob').then(s => s[a].audio.packets), A);
                /* unpublish: bob is told, gets a new subscriber offer; alice's audio still flows */
                const un = await page.evaluate(async () => {
                    const t = window.t;
                    const offersBefore =
                        t.wire.bob.filter(x => x.dir === 'in' && x.msg.type === 'sdp.offer').length;
                    const pubOffers = () =>
                        t.wire.alice.filter(x => x.dir === 'out' && x.msg.type === 'sdp.offer');
                    const n = pubOffers().length;
                    await t.clients.alice.unpublish(t.streams.alice.getVideoTracks()[0]);
                    const offer = pubOffers().at(-1).msg;
                    const answered = t.wire.alice.some(
                        x => x.dir === 'in' && x.msg.type === 'ack' && x.msg.id === offer.id &&
                            typeof x.msg.data.sdp === 'string');
                    const video = offer.data.sdp.split(/(?=m=)/).find(m => m.startsWith('m=video'));
                    const again =
                        await t.clients.alice.unpublish(t.streams.alice.getVideoTracks()[0])
                            .then(() => 'ok', e => e.code);
                    return {
                        newOffers: pubOffers().length - n,
                        answered,
                        videoInactive: /a=inactive/.test(video),
                        again,
                        offersBefore
                    };
                });
                assert.deepEqual({...un, offersBefore: 0}, {
                    newOffers: 1,
                    answered: true,
                    videoInactive: true,
                    again: 'unknown_track',
                    offersBefore: 0
                });
                const gone = await until(
                    page, () => window.t.ev.bob.unpublished.length && window.t.ev.bob.unpublished,
                    null, {what: 'bob gets track.unpublished'});
                assert.deepEqual(gone, [{id: videoA, participant: A}]);
                await until(
                    page,
                    n => window.t.wire.bob.filter(x => x.dir === 'in' && x.msg.type === 'sdp.offer')
                                .length > n &&
                        window.t.wire.bob
                                .filter(x => x.dir === 'out' && x.msg.type === 'sdp.answer')
                                .length > n,
                    un.offersBefore, {what: 'bob renegotiates after the unpublish'});
                const a0 = await audioPackets();
                await sleep(1000);
                assert.ok(await audioPackets() > a0 + 20, 'alice\'s audio still reaches bob');
                const late = await page.evaluate(
                    () => ({
                        errors:
                            [...window.t.wire.alice, ...window.t.wire.bob]
                                .filter(
                                    x => x.dir === 'in' && x.msg.type === 'error' &&
                                        !['unknown_track', 'bad_request'].includes(x.msg.data.code))
                                .map(x => x.msg.data),
                        clientErrors: [...window.t.ev.alice.error, ...window.t.ev.bob.error]
                    }));
                assert.deepEqual(
                    late, {errors: [], clientErrors: []}, 'renegotiation without errors');

                /* pause stops alice's audio at bob, resume brings it back */
                assert.deepEqual(
                    await page.evaluate(a => window.t.clients.bob.pause(a), audioA), {});
                await sleep(500);
                const p0 = await audioPackets();
                await sleep(1000);
                const p1 = await audioPackets();
                assert.deepEqual(
                    await page.evaluate(a => window.t.clients.bob.resume(a), audioA), {});
                await sleep(1000);
                const p2 = await audioPackets();
                assert.ok(p1 - p0 <= 2, `paused: alice's audio stops at bob (${p0} -> ${p1})`);
                if (!(p2 - p1 > 20))
                    failures.push(
                        `track.resume (acked) of alice's audio: bob's audio packetsReceived ${
                            p1} -> ${p2} in the next second; engine: ${
                            engineConsumers(env.hearthd.log())}`);

                /* leave: the other side is told, the leaver is closed */
                await page.evaluate(() => window.t.clients.bob.leave());
                const left = await until(
                    page, () => window.t.ev.alice.left.length && {
                        left: window.t.ev.alice.left,
                        bob: window.t.clients.bob.state,
                        disconnected: window.t.ev.bob.disconnected
                    },
                    null, {what: 'alice sees bob leave'});
                assert.deepEqual(left, {
                    left: [['bob', 'left']],
                    bob: 'closed',
                    disconnected: [{reason: 'left', code: 1000, message: ''}]
                });
                await page.evaluate(() => window.t.clients.alice.leave());
                assert.deepEqual(failures, [], 'media checks');
            },
            {hearthdEnv: {HX_ENGINE_DEBUG: '1'}}),
    },
];

await runIfMain(import.meta.url, tests);
