/*
 * Resume across a restart of hearthd (docs/protocol.md §2.4), in Chromium through the demo page.
 *
 * alice and bob join one room through the demo page; both publish the fake camera and microphone
 * and each decodes the other's video. Then hearthd restarts on the same ports and data dir, once
 * per test:
 *   1. SIGTERM: it drains (`disconnect` shutdown with `resume: true` and `retry_after_ms`, close
 *      1001), exits 0, and comes back;
 *   2. SIGKILL (kill -9): the sockets just die (1006, no `disconnect`), and it comes back.
 * Each time, with nothing done by the test but the restart, both pages must:
 *   - resume by themselves: a `resume` on a new socket, no new ticket, no second `join`; the same
 *     participant id; `reconnecting` then one `reconnected` with media `renew` (new transports
 *     after a restart), never `disconnected`;
 *   - decode each other's video again (framesDecoded on the new subscriber PC, still growing a
 *     second later), and find the other's tracks under the same track ids (the SDK offers its
 *     tracks again at the same mids);
 *   - see the room without a leave or a join: no `participant-left` / `participant-joined`; the
 *     one the server resumed first sees the other's `participant.resumed`, once;
 *   - show the demo's "reconnecting…" banner (#reconnecting) during the outage and hide it
 *     after; no error on the page.
 * An aiortc participant (carol: aiortc_client.py --resume, hearth_peer.py's resume) is in the
 * call too: it resumes as the same participant without a ticket, decodes alice again, alice
 * decodes it again, and it sees no leave or join.
 * Printed: how long hearthd was down, and from hearthd ready again to each page's resume ack and
 * to video decoded again, and to carol decoding again.
 *
 * Nothing here is skipped: a missing Chromium, aiortc or hearthd fails, with or without CI=true.
 *
 *   node resume.test.mjs     (hearthd embeds clients/js: rebuild it after changing the SDK)
 */
import assert from 'node:assert/strict';

import {MEDIA_WAIT_MS, videoFrom, watchWire} from './call.mjs';
import {sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';
import {startAiortc} from './aiortc.test.mjs';
import {joinAndPublish} from './media.test.mjs';
import {withPeer} from './peer.mjs';

const RESUME_WAIT_MS = 30000; /* from ready to resumed: the SDK backs off to 1 s between tries */

/* The demo page as `name` in `room`, joined and publishing, its wire watched from the start. */
async function joinWatched(env, name, room) {
    let wire;
    const p = await joinAndPublish(env, name, room, {before: page => wire = watchWire(page)});
    p.wire = wire;
    return p;
}

/*
 * In the page, before the restart: records the SDK's room and resume events, the banner's
 * visibility changes, and the first moment after `reconnected` that video from `other` is
 * decoded on the (new) subscriber PC.
 */
function instrument(page, other) {
    return page.evaluate(async other => {
        const c = window.hearthDemo.client;
        const framesFrom = async () =>
            ((await window.hearthDemo.stats())[other] || {}).framesDecoded || 0;
        const rt = window.rt = {
            events: [],
            banner: [],
            errorsBefore: window.hearthDemo.errors.length,
            participant: c.participantId,
            pcBefore: c.subscriberPc,
            framesBefore: await framesFrom(),
            mids: c.publisherPc.getTransceivers().map(
                t => [t.mid, t.sender.track && t.sender.track.kind]),
            tracksOfOther:
                [...c.tracks.values()].filter(t => t.participant === other).map(t => t.id).sort(),
            decodedAgainAt: null,
        };
        for (const type of
                 ['participant-joined', 'participant-left', 'participant-resumed', 'reconnecting',
                  'reconnected', 'disconnected']) {
            c.addEventListener(type, e => {
                const d = {...e.detail};
                if (d.participant) d.participant = d.participant.id;
                rt.events.push({type, at: Date.now(), ...d});
            });
        }
        const banner = document.getElementById('reconnecting');
        new MutationObserver(() => rt.banner.push({
            at: Date.now(),
            hidden: banner.hidden,
            visible: banner.checkVisibility(),
            text: banner.textContent
        })).observe(banner, {attributes: true});
        const poll = async () => {
            if (rt.events.some(e => e.type === 'reconnected') && c.subscriberPc) {
                const frames = await framesFrom();
                const fresh = c.subscriberPc !== rt.pcBefore;
                if (fresh ? frames > 0 : frames > rt.framesBefore + 1) {
                    rt.decodedAgainAt = Date.now();
                    rt.freshPc = fresh;
                    return;
                }
            }
            setTimeout(poll, 20);
        };
        poll();
        return {framesBefore: rt.framesBefore, mids: rt.mids, tracksOfOther: rt.tracksOfOther};
    }, other);
}

/* Video frames from `other` decoded so far on the current subscriber PC. */
function framesFrom(page, other) {
    return page.evaluate(
        async other => ((await window.hearthDemo.stats())[other] || {}).framesDecoded || 0, other);
}

async function restartScenario(signal) {
    return withEnv(async env => {
        const room = `browser-resume-${signal.toLowerCase()}`;
        const alice = await joinWatched(env, 'alice', room);
        const bob = await joinWatched(env, 'bob', room);
        /* and an aiortc participant (hearth_peer.py --resume), publishing and watching alice */
        const carol = await startAiortc(env, room, 'carol', ['--resume']);
        return withPeer(carol, () => restartWith(env, signal, alice, bob, carol));
    });
}

async function restartWith(env, signal, alice, bob, carol) {
    {
        const peers = [[alice, bob], [bob, alice]];
        for (const [p] of peers) {
            const join = p.wire.messages.find(m => m.type === 'ack' && m.result);
            assert.ok(
                join && join.result.token,
                `${p.name}: the join result carries a resume token (docs/protocol.md §2.4); ` +
                    `this hearthd does not: ${JSON.stringify(join && join.result)}`);
        }
        await videoFrom(alice.page, bob.id);
        await videoFrom(bob.page, alice.id);
        await videoFrom(alice.page, carol.id);
        await carol.until(st => (st.frames[alice.id] || 0) > 5, 'carol decodes alice');
        const carolBefore = carol.last.frames[alice.id];
        const before = {};
        for (const [p, other] of peers) before[p.name] = await instrument(p.page, other.id);
        for (const [p] of peers)
            assert.equal(
                await p.page.locator('#reconnecting').isHidden(), true,
                `${p.name}: no banner while connected`);
        const marks = Object.fromEntries(peers.map(([p]) => [p.name, {
                                                       messages: p.wire.messages.length,
                                                       sockets: p.wire.sockets.length,
                                                       tickets: p.wire.tickets.length,
                                                   }]));

        /* the restart: nothing else is done to the pages */
        const r = await env.hearthd.restart({signal});
        if (signal === 'SIGTERM')
            assert.deepEqual(
                r.exit, {code: 0, signal: null}, 'SIGTERM: hearthd drains and exits 0');

        /* both resume: one reconnected each, media renewed, never disconnected */
        const rt = {};
        for (const [p, other] of peers) {
            rt[p.name] = await until(p.page, () => {
                const x = window.rt;
                return (x.events.some(e => e.type === 'reconnected' || e.type === 'disconnected') &&
                        x.decodedAgainAt) ||
                        x.events.some(e => e.type === 'disconnected') ?
                    x :
                    null;
            }, null, {
                timeout: RESUME_WAIT_MS + MEDIA_WAIT_MS,
                what: `${p.name} resumed and decodes ${other.name} again`
            });
        }
        const state = {};
        for (const [p] of peers) {
            const x = rt[p.name];
            const types = x.events.map(e => e.type);
            assert.ok(
                !types.includes('disconnected'),
                `${p.name} resumed, not disconnected: ${JSON.stringify(x.events)}`);
            const reconnecting = x.events.filter(e => e.type === 'reconnecting');
            const reconnected = x.events.filter(e => e.type === 'reconnected');
            assert.ok(reconnecting.length >= 1, `${p.name}: reconnecting`);
            assert.equal(
                reconnected.length, 1, `${p.name}: reconnected once ${JSON.stringify(x.events)}`);
            assert.equal(
                reconnected[0].media, 'renew', `${p.name}: new transports after a restart`);
            assert.equal(reconnecting[0].attempt, 1);
            if (signal === 'SIGTERM')
                assert.equal(
                    reconnecting[0].reason, 'shutdown', `${p.name}: resumed because of the drain`);
            else
                assert.deepEqual(
                    [reconnecting[0].reason, reconnecting[0].code], ['closed', 1006],
                    `${p.name}: resumed because the socket died`);
            state[p.name] = await p.page.evaluate(
                () => ({
                    state: window.hearthDemo.client.state,
                    participant: window.hearthDemo.client.participantId,
                    statusText: document.getElementById('state-signal').textContent,
                    errors: window.hearthDemo.errors.slice(window.rt.errorsBefore),
                    reconnects: window.hearthDemo.reconnects.map(e => e.event),
                }));
            assert.equal(state[p.name].state, 'joined');
            assert.equal(
                state[p.name].participant, x.participant, `${p.name}: the same participant`);
            assert.equal(state[p.name].statusText, 'joined');
            assert.deepEqual(state[p.name].errors, [], `${p.name}: no error on the page`);
            assert.ok(
                state[p.name].reconnects.includes('reconnecting') &&
                    state[p.name].reconnects.at(-1) === 'reconnected',
                `${p.name}: the demo saw it: ${state[p.name].reconnects}`);
            assert.equal(x.freshPc, true, `${p.name}: decodes on a new subscriber PC`);
        }

        /* no ticket, no join: resume on a new socket */
        for (const [p] of peers) {
            const m = marks[p.name];
            const after = p.wire.messages.slice(m.messages);
            assert.equal(p.wire.tickets.length, m.tickets, `${p.name}: no new ticket`);
            const sent = after.filter(x => x.dir === 'out').map(x => x.type);
            assert.ok(!sent.includes('join'), `${p.name}: no second join (${sent})`);
            const resumes = after.filter(x => x.dir === 'out' && x.type === 'resume');
            assert.ok(resumes.length >= 1, `${p.name} sent resume`);
            const acked = after.find(x => x.type === 'ack' && x.result && x.result.resumed);
            assert.ok(acked, `${p.name}: a resume was acknowledged`);
            assert.equal(acked.result.participant, p.id);
            assert.ok(acked.result.token, `${p.name}: a fresh resume token`);
            assert.ok(p.wire.sockets.length > m.sockets, `${p.name}: on a new WebSocket`);
            const disconnects = after.filter(x => x.type === 'disconnect').map(x => x.data);
            if (signal === 'SIGTERM') {
                assert.ok(disconnects.length >= 1, `${p.name}: told of the drain`);
                assert.equal(disconnects[0].reason, 'shutdown');
                assert.equal(disconnects[0].resume, true);
                assert.equal(typeof disconnects[0].retry_after_ms, 'number');
            } else {
                assert.deepEqual(disconnects, [], `${p.name}: kill -9 says nothing`);
            }
        }

        /* the room: resumed, never left and joined */
        for (const [p] of peers) {
            const churn = rt[p.name].events.filter(
                e => e.type === 'participant-left' || e.type === 'participant-joined');
            assert.deepEqual(churn, [], `${p.name}: no participant-left / participant-joined`);
        }
        const at = name => rt[name].events.find(e => e.type === 'reconnected').at;
        const resumedSeen = name => rt[name].events.filter(
            e => e.type === 'participant-resumed' && e.participant !== carol.id);
        for (const [p, other] of peers)
            for (const e of resumedSeen(p.name))
                assert.equal(
                    e.participant, other.id, `${p.name}: participant-resumed names ${other.name}`);
        /* The one the server resumed first is in the room when the other comes back and is told
         * once; the other was away when the first resumed. Which is first is the server's order:
         * the pages' 'reconnected' times can come in the other order (each page acts on its ack
         * when its renderer gets to it), so only the count is checked when they are apart. */
        const seen = resumedSeen('alice').length + resumedSeen('bob').length;
        assert.ok(resumedSeen('alice').length <= 1 && resumedSeen('bob').length <= 1,
                  `participant.resumed at most once each (${seen})`);
        if (Math.abs(at('alice') - at('bob')) > 100)
            assert.equal(seen, 1, 'exactly one of them sees the other\'s participant.resumed');
        else
            assert.ok(seen >= 1, 'one of them sees the other\'s participant.resumed');

        /* the banner: shown during the outage, hidden after */
        for (const [p] of peers) {
            const b = rt[p.name].banner;
            assert.ok(
                b.some(x => x.visible), `${p.name}: #reconnecting shown ${JSON.stringify(b)}`);
            assert.equal(b.at(-1).visible, false, `${p.name}: hidden at the end`);
            assert.equal(await p.page.locator('#reconnecting').isHidden(), true);
        }

        /* media: still growing, and the same tracks (ids) and mids as before */
        for (const [p, other] of peers) {
            const f0 = await framesFrom(p.page, other.id);
            await sleep(1000);
            const f1 = await framesFrom(p.page, other.id);
            assert.ok(
                f1 > f0 + 5, `${p.name}: video from ${other.name} keeps decoding (${f0} -> ${f1})`);
        }
        for (const [p] of peers) {
            const mids = await p.page.evaluate(
                () => window.hearthDemo.client.publisherPc.getTransceivers().map(
                    t => [t.mid, t.sender.track && t.sender.track.kind]));
            assert.deepEqual(mids, before[p.name].mids, `${p.name}: the same publisher m-lines`);
        }
        for (const [p, other] of peers) {
            const now = await until(p.page, ([o, n]) => {
                const c = window.hearthDemo.client;
                const ids =
                    [...c.tracks.values()].filter(t => t.participant === o).map(t => t.id).sort();
                return ids.length >= n && ids;
            }, [other.id, before[p.name].tracksOfOther.length], {
                what: `${p.name} knows ${other.name}'s tracks again`
            });
            assert.deepEqual(
                now, before[p.name].tracksOfOther,
                `${p.name}: ${other.name}'s tracks keep their ids (same mids)`);
        }

        /* aiortc: resumed without a ticket as the same participant, decodes alice again, and
         * alice decodes it again */
        const c = await carol.until(
            st => st.resumes >= 1 && (st.frames[alice.id] || 0) > carolBefore + 10 && st,
            'carol resumed and decodes alice again', RESUME_WAIT_MS + MEDIA_WAIT_MS);
        const carolAgainAt = Date.now();
        assert.equal(c.participant, carol.id, 'carol: the same participant');
        assert.deepEqual(c.errors, [], 'carol: no error');
        assert.ok(!c.participant_events.some(e => /participant\.(left|joined)/.test(e)),
                  `carol (joined last): no leave or join of the others: ${c.participant_events}`);
        const fa = await framesFrom(alice.page, carol.id);
        await videoFrom(alice.page, carol.id, fa + 10, MEDIA_WAIT_MS);

        const after = name => rt[name].decodedAgainAt - r.readyAt;
        const ack = p => p.wire.messages
                             .find(
                                 (x, i) => i >= marks[p.name].messages && x.type === 'ack' &&
                                     x.result && x.result.resumed)
                             .at -
            r.readyAt;
        console.log(
            `      ${signal}: hearthd down ${r.readyAt - r.stoppedAt} ms; from ready: ` +
            `resumed alice +${ack(alice)} ms, bob +${ack(bob)} ms; video decoded again ` +
            `alice +${after('alice')} ms, bob +${after('bob')} ms (attempts: alice ` +
            `${rt.alice.events.filter(e => e.type === 'reconnecting').length}, bob ` +
            `${rt.bob.events.filter(e => e.type === 'reconnecting').length}); aiortc resumed ` +
            `in ${c.resume_ms} ms, decodes alice again by +${carolAgainAt - r.readyAt} ms`);
    }
}

export const tests = [
    {
        name: 'SIGTERM restart: both pages resume and decode video again, no ticket, no leave',
        timeoutMs: 150000,
        fn: () => restartScenario('SIGTERM'),
    },
    {
        name: 'SIGKILL restart: both pages resume and decode video again, no ticket, no leave',
        timeoutMs: 150000,
        fn: () => restartScenario('SIGKILL'),
    },
];

await runIfMain(import.meta.url, tests);
