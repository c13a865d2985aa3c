/*
 * A client's network cut for 5 s (issue 9; docs/protocol.md §2.4): it resumes by itself, and the
 * room sees `participant.resumed`, never a leave and a join.
 *
 * alice and bob join one room through the demo page; both publish the fake camera and microphone
 * and each decodes the other's video. alice's Chromium runs as uid 65534 (nobody, through a small
 * setpriv wrapper), so nftables can tell her packets apart: a rule in the test's own network
 * namespace marks every connection a uid-65534 socket opens (`meta skuid 65534 ct mark set 1`);
 * the server's replies belong to the same conntrack entries. The cut is one batch that drops
 * every packet of a marked connection, both ways, WebSocket and UDP media alike (alice's own
 * packets and hearthd's to her are counted apart, per protocol); after CUT_MS the batch is
 * flushed ("the network returns"). bob is not touched. Nothing else is done to the pages.
 *
 * Nothing tells the browser: the WebSocket's TCP does not close within 5 s, and Chromium keeps
 * both PeerConnections `connected` through the cut (its ICE gives up on a pair only after ~5-6.5
 * s of unanswered checks), so the SDK has to notice the silence itself.
 *
 * Each round (ROUNDS, HEARTH_CUT_ROUNDS) must show:
 *   - alice's SDK goes `reconnecting` then one `reconnected`, never `disconnected`; the demo's
 *     "reconnecting…" banner (#reconnecting) is shown meanwhile and hidden after; she resumes
 *     with `resume` on a new WebSocket (no new ticket, no second `join`), acknowledged with
 *     `resumed` and her participant id;
 *   - the same participant id, and the same track ids on both sides (bob sees alice's tracks
 *     under the ids they had; alice sees bob's);
 *   - video decoded again both ways: alice decodes bob, bob decodes alice (still growing after);
 *   - bob sees alice's `participant-resumed` once (and none between the rounds); nobody sees
 *     `participant-left` or `participant-joined`; bob never shows the banner;
 *   - the drop rules dropped packets both ways (alice's and hearthd's UDP at least).
 * All rounds run; the first failing round's assertion fails the test.
 * Printed per round: when the SDK noticed the cut (and why), from "network returned" to the
 * resume's ack and to video decoded again, on alice (bob's video) and on bob (alice's video):
 * `first` is the first frame after the return, `again` the start of the uninterrupted decoding
 * that lasts (no gap over STALL_MS) — the figure the issue's 1 s target is about (its p95); the
 * keyframe path after the return (the receiver's PLI, the sender's PLI and keyframe, decoded);
 * alice's PC states, SDK events and WebSocket messages during the round.
 * The 1 s target is printed, not asserted (two shared cores); RECOVERY_LIMIT_MS is.
 *
 * Only the test's own network namespace changes (netns.mjs: skipped when not root; nft,
 * setpriv, unshare or Chromium missing: skipped, or failed under CI=true).
 *
 *   node network_cut.test.mjs     (HEARTH_CUT_ROUNDS=N: more samples; HEARTH_CUT_MS: longer cuts)
 */
import assert from 'node:assert/strict';
import {fileURLToPath} from 'node:url';

import {videoFrom, watchWire} from './call.mjs';
import {sleep, until, withEnv} from './harness.mjs';
import {NOBODY, nft, nftBatch, nftDeleteTable, openNobodyPage, ownNetnsOrRerun} from './netns.mjs';
import {runIfMain} from './runner.mjs';

const CUT_MS = Number(process.env.HEARTH_CUT_MS || 5000); /* the issue says 5 s */
const ROUNDS = Math.max(1, Number(process.env.HEARTH_CUT_ROUNDS || 3));
const TABLE = 'hxcut';
const TARGET_MS = 1000;          /* issue 9: media decoded again within 1 s (p95) */
const RECOVERY_LIMIT_MS = 10000; /* what fails the test: not back within this after the return */
const STALL_MS = 400;            /* a gap this long between decoded frames is a stall (20 fps) */
const SETTLE_MS = 2000;          /* decoding observed this long after recovery, each round */
const thisFile = fileURLToPath(import.meta.url);

/* ---- nftables (in the test's namespace only) ------------------------------------------------ */

/*
 * Every connection a uid-65534 socket opens carries conntrack mark 1 (both directions share the
 * entry); marked packets go through chain `cut`, empty until cut().
 */
function setupMarks() {
    nftDeleteTable(TABLE);
    nftBatch(`add table inet ${TABLE}
add chain inet ${TABLE} cut
add chain inet ${TABLE} o { type filter hook output priority 0; }
add rule inet ${TABLE} o meta skuid ${NOBODY} ct mark set 1 counter
add rule inet ${TABLE} o ct mark 1 jump cut
`);
}

/* The cut: every packet of a marked connection dropped, counted by sender and protocol. */
const CUT_RULES = [
    ['alice-udp', `meta skuid ${NOBODY} meta l4proto udp`],
    ['alice-tcp', `meta skuid ${NOBODY} meta l4proto tcp`],
    ['hearthd-udp', 'meta l4proto udp'],
    ['hearthd-tcp', 'meta l4proto tcp'],
    ['other', ''],
];

function cut() {
    nftBatch(
        CUT_RULES
            .map(([name,
                   match]) => `add rule inet ${TABLE} cut ${match} counter drop comment "${name}"`)
            .join('\n') +
        '\n');
}

/* Ends the cut; returns the packets each rule dropped ({alice-udp: n, ...}). */
function restore() {
    const listing = nft('list', 'chain', 'inet', TABLE, 'cut');
    nft('flush', 'chain', 'inet', TABLE, 'cut');
    const dropped = {};
    for (const m of listing.matchAll(/counter packets (\d+) bytes \d+ drop comment "([^"]+)"/g))
        dropped[m[2]] = Number(m[1]);
    return dropped;
}

function marked() {
    const m =
        /ct mark set 0x0*1 counter packets (\d+)/.exec(nft('list', 'chain', 'inet', TABLE, 'o'));
    return m ? Number(m[1]) : 0;
}

function removeTable() {
    nftDeleteTable(TABLE);
}

/* ---- the pages ------------------------------------------------------------------------------ */

async function joined(p) {
    await until(
        p.page,
        () =>
            !!(window.hearthDemo.client && window.hearthDemo.client.state === 'joined' &&
               window.hearthDemo.published),
        null, {what: `${p.name} joined and publishing`});
    const errors = await p.page.evaluate(async () => {
        await window.hearthDemo.published;
        return window.hearthDemo.errors;
    });
    assert.deepEqual(errors, [], `${p.name} joined and published without errors`);
    p.id = await p.page.evaluate(() => window.hearthDemo.client.participantId);
    return p;
}

/*
 * In the page, once: records the SDK's room and resume events, the PCs' states, the banner's
 * visibility, and (sampled every 25 ms from getStats, per PC: a new PC starts from 0) every
 * moment the video frames decoded from `other` grew, and the keyframe traffic: PLIs this page's
 * receiver sent for `other`'s video and keyframes it decoded; PLIs its own video sender got and
 * keyframes it encoded.
 */
function instrument(page, other) {
    return page.evaluate(other => {
        const c = window.hearthDemo.client;
        const nc = window.nc = {events: [], banner: [], grew: [], pcs: 0};
        for (const type of
                 ['participant-joined', 'participant-left', 'participant-resumed', 'reconnecting',
                  'reconnected', 'disconnected', 'media-state', 'error']) {
            c.addEventListener(type, e => {
                const d = {...e.detail};
                if (d.participant) d.participant = d.participant.id;
                if (d.error) d.error = String(d.error.code || d.error.message || d.error);
                nc.events.push({type, at: Date.now(), ...d});
            });
        }
        const banner = document.getElementById('reconnecting');
        new MutationObserver(
            () => nc.banner.push({at: Date.now(), visible: banner.checkVisibility()}))
            .observe(banner, {attributes: true});
        /* counters per PC: a new PC starts from 0 */
        const last = {sub: null, pub: null}, prev = {};
        const grew = (key, value, list) => {
            if (value > (prev[key] || 0)) list.push(Date.now());
            prev[key] = value;
            if (list.length > 20000) list.splice(0, 10000);
        };
        Object.assign(nc, {pliSent: [], keyDecoded: [], pliGot: [], keyEncoded: []});
        let pcState = '';
        const poll = async () => {
            try {
                const st =
                    [['pub', c.publisherPc], ['sub', c.subscriberPc]]
                        .map(
                            ([n, x]) =>
                                x ? `${n}:${x.iceConnectionState}/${x.connectionState}` : `${n}:-`)
                        .join(',');
                if (st !== pcState) nc.events.push({type: 'ice', at: Date.now(), st: pcState = st});
                for (const [k, x] of [['sub', c.subscriberPc], ['pub', c.publisherPc]])
                    if (x !== last[k]) {
                        last[k] = x;
                        for (const f of Object.keys(prev))
                            if (f.startsWith(k)) prev[f] = 0;
                        if (k === 'sub') nc.pcs++;
                    }
                const {subscriber, publisher} = await c.getStats();
                const byMid = new Map([...c.remoteTracks.values()].map(t => [t.mid, t]));
                const sum = {frames: 0, pli: 0, keys: 0, pliGot: 0, keysSent: 0};
                if (subscriber)
                    subscriber.forEach(r => {
                        if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
                        const t = c.remoteTracks.get(r.trackIdentifier) || byMid.get(r.mid);
                        if (!t || t.participant !== other) return;
                        sum.frames += r.framesDecoded || 0;
                        sum.pli += r.pliCount || 0;
                        sum.keys += r.keyFramesDecoded || 0;
                    });
                if (publisher)
                    publisher.forEach(r => {
                        if (r.type !== 'outbound-rtp' || r.kind !== 'video') return;
                        sum.pliGot += r.pliCount || 0;
                        sum.keysSent += r.keyFramesEncoded || 0;
                    });
                if (sum.frames > (prev.subFrames || 0)) nc.grew.push([Date.now(), nc.pcs]);
                prev.subFrames = sum.frames;
                if (nc.grew.length > 20000) nc.grew.splice(0, 10000);
                grew('subPli', sum.pli, nc.pliSent);
                grew('subKeys', sum.keys, nc.keyDecoded);
                grew('pubPli', sum.pliGot, nc.pliGot);
                grew('pubKeys', sum.keysSent, nc.keyEncoded);
            } catch {
                /* a PC being replaced */
            }
            setTimeout(poll, 25);
        };
        poll();
    }, other);
}

/* A page's view, now: state, participant, the other's track ids, errors, events since `from`. */
function snapshot(p, other, from = 0) {
    return p.page.evaluate(([other, from]) => {
        const c = window.hearthDemo.client;
        return {
            state: c.state,
            participant: c.participantId,
            tracksOfOther:
                [...c.tracks.values()].filter(t => t.participant === other).map(t => t.id).sort(),
            errors: window.hearthDemo.errors.slice(),
            events: window.nc.events.filter(e => e.at >= from),
            banner: window.nc.banner.filter(e => e.at >= from),
            grew: window.nc.grew.filter(g => g[0] >= from),
            keys: Object.fromEntries(['pliSent', 'keyDecoded', 'pliGot', 'keyEncoded'].map(
                k => [k, window.nc[k].filter(t => t >= from)])),
            pcs: window.nc.pcs,
            bannerHidden: document.getElementById('reconnecting').hidden,
        };
    }, [other, from]);
}

/*
 * From the moments frames grew after `t0`: the first one, and the start of the decoding that
 * lasts (the first growth after the last gap over STALL_MS, counting from t0), or nulls.
 */
function recovery(grew, t0, end) {
    const times = grew.map(g => g[0]).filter(t => t > t0 && t <= end);
    if (!times.length) return {first: null, again: null, stalls: 0};
    let again = times[0], prev = t0, stalls = 0;
    for (const t of times) {
        if (t - prev > STALL_MS) {
            again = t;
            stalls++;
        }
        prev = t;
    }
    if (end - prev > STALL_MS) return {first: times[0], again: null, stalls}; /* stalled again */
    return {first: times[0], again, stalls};
}

function p95(values) {
    const v = [...values].sort((a, b) => a - b);
    return v[Math.min(v.length - 1, Math.ceil(0.95 * v.length) - 1)];
}

/* ---- the test ----------------------------------------------------------------------------- */

/* Events as `type[detail]@ms after t0`, for the report. */
function timeline(events, t0) {
    return events
        .map(e => {
            const d = e.type === 'media-state' ? `${e.pc}:${e.state}` :
                e.type === 'ice'          ? e.st :
                e.type === 'reconnecting' ? `${e.attempt}:${e.reason}` :
                e.type === 'reconnected' ? `${e.media}` :
                e.participant ? e.participant :
                                e.reason || e.error || '';
            return `${e.type}${d ? `[${d}]` : ''}@${e.at - t0}`;
        })
        .join(' ');
}

async function oneRound(env, alice, bob, round) {
    const before = {
        alice: await snapshot(alice, bob.id),
        bob: await snapshot(bob, alice.id),
        messages: alice.wire.messages.length,
        sockets: alice.wire.sockets.length,
        tickets: alice.wire.tickets.length,
    };
    assert.equal(await alice.page.locator('#reconnecting').isHidden(), true, 'no banner before');

    cut();
    const cutAt = Date.now();
    await sleep(CUT_MS);
    const dropped = restore();
    const backAt = Date.now();

    /* alice resumes; both decode each other again, and go on decoding */
    let lastA, lastB;
    const deadline = backAt + RECOVERY_LIMIT_MS;
    for (;;) {
        lastA = await snapshot(alice, bob.id, cutAt);
        lastB = await snapshot(bob, alice.id, cutAt);
        const now = Date.now();
        const gaveUp = lastA.events.some(e => e.type === 'disconnected');
        const resumedAt = (lastA.events.find(e => e.type === 'reconnected') || {}).at;
        const ra = recovery(lastA.grew, backAt, now), rb = recovery(lastB.grew, backAt, now);
        if (gaveUp) break;
        if (resumedAt && ra.again && rb.again &&
            now - Math.max(ra.again, rb.again, resumedAt) >= SETTLE_MS)
            break;
        if (now > deadline) break;
        await sleep(200);
    }
    const end = Date.now();

    /* the report first, so that a failure still says what happened */
    const aEvents = lastA.events.filter(e => e.type !== 'media-state' && e.type !== 'ice');
    const reconnecting = aEvents.filter(e => e.type === 'reconnecting');
    const reconnected = aEvents.filter(e => e.type === 'reconnected');
    const after = alice.wire.messages.slice(before.messages);
    const ack = after.find(m => m.type === 'ack' && m.result && m.result.resumed);
    const ra = recovery(lastA.grew, backAt, end), rb = recovery(lastB.grew, backAt, end);
    const rel = t => (t == null ? 'never' : `${t - backAt >= 0 ? '+' : ''}${t - backAt} ms`);
    const r = {
        round,
        noticedMs: reconnecting.length ? reconnecting[0].at - cutAt : null,
        reason: reconnecting.length ? reconnecting[0].reason : null,
        attempts: reconnecting.length,
        media: reconnected.length ? reconnected[0].media : null,
        ackMs: ack ? ack.at - backAt : null,
        aliceFirst: ra.first && ra.first - backAt,
        aliceAgain: ra.again && ra.again - backAt,
        bobFirst: rb.first && rb.first - backAt,
        bobAgain: rb.again && rb.again - backAt,
        dropped,
    };
    console.log(`      round ${round}: cut ${backAt - cutAt} ms; alice noticed ${
        r.noticedMs == null ? 'nothing' : `at +${r.noticedMs} ms (${r.reason})`}, ${
        r.attempts} attempt(s), media ${r.media}; from the network's return: resume ack ${
        rel(ack && ack.at)}, alice decodes bob again ${rel(ra.again)} (first frame ${
        rel(ra.first)}), bob decodes alice again ${rel(rb.again)} (first frame ${
        rel(rb.first)}); dropped ${JSON.stringify(dropped)}`);
    const lastOf = {alice: lastA, bob: lastB};
    const firstAfter = list => {
        const t = list.find(x => x > backAt);
        return t === undefined ? 'never' : `+${t - backAt}`;
    };
    const keyPath = (rx, tx) => `${rx.name} asked ${firstAfter(lastOf[rx.name].keys.pliSent)}, ${
        tx.name} got a PLI ${firstAfter(lastOf[tx.name].keys.pliGot)}, encoded a keyframe ${
        firstAfter(lastOf[tx.name].keys.keyEncoded)}, ${rx.name} decoded it ${
        firstAfter(lastOf[rx.name].keys.keyDecoded)}`;
    console.log(
        `        keyframes after the return (ms): ${keyPath(alice, bob)}; ${keyPath(bob, alice)}`);
    console.log(
        `        alice (ms after the cut began): ${timeline(lastA.events, cutAt) || '(nothing)'}`);
    console.log(`        bob: ${timeline(lastB.events, cutAt) || '(nothing)'}`);
    const wire =
        after.map(m => `${m.dir === 'out' ? '>' : '<'}${m.type}#${m.conn}@${m.at - cutAt}`);
    console.log(`        alice's wire: ${wire.join(' ') || '(nothing)'}`);
    const ctx = `round ${round} (see above)`;
    try {
        await checkRound();
    } catch (e) {
        r.error = e;
    }
    return r;

    /* the round's assertions; a failure is returned in r.error (the rounds go on) */
    async function checkRound() {
        /* the cut happened, both ways */
        assert.ok(
            dropped['alice-udp'] > 0 && dropped['hearthd-udp'] > 0,
            `the cut dropped alice's media and hearthd's to her: ${JSON.stringify(dropped)}`);

        /* alice: reconnecting, one reconnected, never disconnected; the same participant */
        assert.ok(
            !aEvents.some(e => e.type === 'disconnected'),
            `alice resumed, not disconnected: ${ctx}`);
        assert.ok(reconnecting.length >= 1, `alice went reconnecting: ${ctx}`);
        assert.equal(reconnected.length, 1, `alice reconnected once: ${ctx}`);
        assert.equal(lastA.state, 'joined');
        assert.equal(lastA.participant, alice.id, 'alice keeps her participant id');
        assert.equal(lastB.participant, bob.id);

        /* on the wire: resume on a new socket, acknowledged; no ticket, no join */
        const sent = after.filter(m => m.dir === 'out').map(m => m.type);
        assert.equal(alice.wire.tickets.length, before.tickets, 'alice fetched no new ticket');
        assert.ok(!sent.includes('join'), `alice sent no second join (${sent})`);
        assert.ok(sent.includes('resume'), `alice sent resume (${sent})`);
        assert.ok(ack, `alice's resume was acknowledged: ${ctx}`);
        assert.equal(ack.result.participant, alice.id, 'the resume kept her participant id');
        assert.ok(alice.wire.sockets.length > before.sockets, 'alice resumed on a new WebSocket');

        /* the room: resumed, never left and joined */
        for (const [who, s] of [['alice', lastA], ['bob', lastB]]) {
            const churn = s.events.filter(
                e => e.type === 'participant-left' || e.type === 'participant-joined');
            assert.deepEqual(churn, [], `${who}: no participant-left / participant-joined: ${ctx}`);
        }
        const resumedSeen = lastB.events.filter(e => e.type === 'participant-resumed');
        assert.equal(resumedSeen.length, 1, `bob saw participant-resumed once: ${ctx}`);
        assert.equal(resumedSeen[0].participant, alice.id, 'participant-resumed names alice');
        assert.ok(
            !lastB.events.some(e => e.type === 'reconnecting' || e.type === 'disconnected'),
            `bob was not disturbed: ${ctx}`);

        /* the banner: alice's shown during the cut and hidden after; bob's never */
        assert.ok(lastA.banner.some(b => b.visible), `alice showed #reconnecting: ${ctx}`);
        assert.equal(lastA.banner.at(-1).visible, false, 'alice hid #reconnecting after');
        assert.equal(lastA.bannerHidden, true);
        assert.ok(!lastB.banner.some(b => b.visible), 'bob never showed #reconnecting');
        assert.deepEqual(
            lastA.errors.slice(before.alice.errors.length), [], 'no error on alice\'s page');
        assert.deepEqual(
            lastB.errors.slice(before.bob.errors.length), [], 'no error on bob\'s page');

        /* media: decoded again both ways and lasting; the same track ids */
        assert.ok(ra.again, `alice decodes bob's video again after the cut: ${ctx}`);
        assert.ok(rb.again, `bob decodes alice's video again after the cut: ${ctx}`);
        const trackIds = (p, other, n) => until(p.page, ([o, n]) => {
            const ids = [...window.hearthDemo.client.tracks.values()]
                            .filter(t => t.participant === o)
                            .map(t => t.id)
                            .sort();
            return ids.length >= n && ids;
        }, [other.id, n], {what: `${p.name} knows ${other.name}'s tracks`});
        assert.deepEqual(
            await trackIds(alice, bob, before.alice.tracksOfOther.length),
            before.alice.tracksOfOther, 'alice sees bob\'s tracks under the same ids');
        assert.deepEqual(
            await trackIds(bob, alice, before.bob.tracksOfOther.length), before.bob.tracksOfOther,
            'bob sees alice\'s tracks under the same ids');
    }
}

async function networkCut() {
    const elsewhere = ownNetnsOrRerun(thisFile);
    if (elsewhere) return elsewhere;
    removeTable();
    setupMarks();
    try {
        return await withEnv(async env => {
            const room = 'browser-network-cut';
            let alice;
            try {
                alice = await openNobodyPage('alice');
                alice.wire = watchWire(alice.page);
                await alice.page.goto(env.demoUrl({room, user: 'alice', autojoin: '1'}));
                await alice.page.waitForFunction(
                    () => window.hearthDemo !== undefined, null, {timeout: 10000});
                await joined(alice);
                const bob =
                    await joined(await env.openDemo('bob', {room, user: 'bob', autojoin: '1'}));
                await videoFrom(alice.page, bob.id);
                await videoFrom(bob.page, alice.id);
                await instrument(alice.page, bob.id);
                await instrument(bob.page, alice.id);
                const m = marked();
                assert.ok(m > 0, `alice's connections are marked (${m} packets)`);
                await sleep(1000); /* a steady call: the poller has a baseline */

                const results = [];
                for (let round = 1; round <= ROUNDS; round++) {
                    try {
                        results.push(await oneRound(env, alice, bob, round));
                    } finally {
                        nft('flush', 'chain', 'inet', TABLE, 'cut');
                    }
                    const state = await alice.page.evaluate(() => window.hearthDemo.client.state);
                    if (state !== 'joined') break; /* the next rounds would say nothing more */
                    await sleep(500);
                }
                const resumedLines =
                    env.hearthd.log().split('\n').filter(l => /session\.resumed/.test(l));
                console.log(`      hearthd: ${resumedLines.length} session.resumed (${
                    resumedLines.map(l => (/kind=(\S+)/.exec(l) || [])[1]).join(', ')})`);
                const measured = who => results.map(r => r[`${who}Again`]).filter(v => v != null);
                const summary = who => {
                    const v = measured(who);
                    return v.length ?
                        `${who} p95 ${p95(v)} ms (max ${Math.max(...v)}, n=${v.length})` :
                        `${who}: never`;
                };
                const all = [...measured('alice'), ...measured('bob')];
                console.log(`      video decoded again after the network returned: ${
                    summary('alice')}, ${summary('bob')}; target ${TARGET_MS} ms (p95): ${
                    all.length && p95(all) <= TARGET_MS ? 'met' : 'NOT met'}`);
                const failed = results.filter(r => r.error);
                if (failed.length) {
                    const e = failed[0].error;
                    e.message = `round ${failed[0].round} (${failed.length} of ${
                        results.length} rounds failed): ${e.message}`;
                    throw e;
                }
                /* no resume but the cuts' (e.g. a watchdog firing on a healthy call) */
                const count = (p, type) =>
                    p.page.evaluate(t => window.nc.events.filter(e => e.type === t).length, type);
                assert.equal(
                    await count(bob, 'participant-resumed'), results.length,
                    'bob saw one participant-resumed per cut, none between them');
                assert.equal(
                    await count(alice, 'reconnecting') > 0 && await count(alice, 'reconnected'),
                    results.length, 'alice resumed once per cut, never between them');
                for (const r of results)
                    for (const who of ['alice', 'bob'])
                        assert.ok(
                            r[`${who}Again`] <= RECOVERY_LIMIT_MS,
                            `round ${r.round}: ${who} decodes again within ${
                                RECOVERY_LIMIT_MS} ms`);
            } catch (e) {
                if (alice)
                    e.message += `\n--- alice (uid ${NOBODY}) console ---\n${
                        alice.console.slice(-40).join('\n')}`;
                throw e;
            } finally {
                if (alice) await alice.close();
            }
        });
    } finally {
        removeTable();
    }
}

export const tests = [
    {
        name: `network cut ${CUT_MS / 1000} s (nftables, one client): it resumes, the room ` +
            'sees participant.resumed, video decoded again',
        timeoutMs: 60000 + ROUNDS * 20000,
        fn: networkCut,
    },
];

await runIfMain(import.meta.url, tests);
