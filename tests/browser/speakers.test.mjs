/*
 * Active speakers end to end (docs/protocol.md §2.6): Chromium's RFC 6464 audio levels, the
 * engine's detector, `room.speakers` on the wire, the SDK's `speakers` event and the demo's
 * highlight.
 *
 * Two publishers share one page, each a HearthClient publishing a WebAudio stream (Chromium's
 * fake microphone only beeps now and then): "loud" an OscillatorNode through a GainNode, "silent"
 * the same at gain 0. "carol" listens on the demo page (receive only). Both start silent; then:
 *   1. loud's gain goes to 1: carol's wire must name loud's audio track in `room.speakers`
 *      within 1 s (measured in the pages, both on Date.now(); printed), carol's demo outlines
 *      loud's tile and list entry, and loud itself hears that it speaks;
 *   2. loud's gain goes back to 0: a list without loud follows;
 *   3. loud speaks again (named again, measured again), then both publishers stop sending
 *      audio altogether (replaceTrack(null): no packets at all, as under Opus DTX): a list
 *      without loud follows even so;
 * and silent is never named. The publisher PC's answer must keep the audio level extension.
 * A second test drives the SDK's `speakers` state in Node, without a browser.
 *
 *   node speakers.test.mjs
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {recordMessages} from './call.mjs';
import {repoRoot, sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const ROOM = 'browser-speakers';
const NAME_LIMIT_MS = 1000;  /* the brief: named within 1 s of speaking */
const DROP_LIMIT_MS = 3000;  /* the detector drops within 1.4 s; slack for two shared cores */
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/* In the publishers' page: loud and silent join and publish their oscillators, at gain 0. */
async function setUpPublishers(room) {
    const {HearthClient} = await import('/sdk/hearth.js');
    const ctx = new AudioContext();
    await ctx.resume();
    window.pubs = {ctx};
    const out = {};
    for (const user of ['loud', 'silent']) {
        const osc = ctx.createOscillator();
        osc.frequency.value = 440;
        const gain = ctx.createGain();
        gain.gain.value = 0;
        const dest = ctx.createMediaStreamDestination();
        osc.connect(gain).connect(dest);
        osc.start();
        const client = new HearthClient();
        const heard = [];
        client.addEventListener('speakers', e => heard.push(e.detail.speakers));
        const ticket = await HearthClient.fetchTicket(location.origin, {room, user});
        await client.join({ticket, autoSubscribe: false});
        const [tx] = await client.publish(dest.stream);
        window.pubs[user] = {client, gain, tx, track: dest.stream.getAudioTracks()[0], heard};
        out[user] = {
            participant: client.participantId,
            offer: client.publisherPc.localDescription.sdp,
            answer: client.publisherPc.remoteDescription.sdp,
        };
    }
    return out;
}

/* Sets loud's gain (in the publishers' page); returns Date.now() of the change. */
function setGain(page, value) {
    return page.evaluate(v => {
        window.pubs.loud.gain.gain.setValueAtTime(v, window.pubs.ctx.currentTime);
        return Date.now();
    }, value);
}

/* Waits at carol's for the first `room.speakers` after `since` that names `track` (present) or
 * does not (!present); returns it. */
function nextList(page, since, track, present, what) {
    return until(page, ([t, id, want]) => window.speakersWire.find(
                           m => m.at >= t && m.speakers.some(x => x.track === id) === want) || null,
                 [since, track, present], {timeout: 10000, what});
}

export const tests = [
    {
        name: 'the loud publisher is named within 1 s, the silent one never, and dropped when it stops',
        timeoutMs: 150000,
        fn: () => withEnv(async env => {
            const carol = await env.openDemo(
                'carol', {room: ROOM, user: 'carol', autojoin: '1', publish: '0'},
                {before: page => page.addInitScript(recordMessages, {type: 'room.speakers', into: 'speakersWire'})});
            await until(carol.page,
                        () => window.hearthDemo.client && window.hearthDemo.client.state === 'joined',
                        null, {what: 'carol joined'});
            const pubs = await env.openDemo('publishers', {publish: '0'});
            const who = await pubs.page.evaluate(setUpPublishers, ROOM);
            for (const u of ['loud', 'silent']) {
                assert.ok(who[u].offer.includes(AUDIO_LEVEL_URI), `${u}: Chromium offers audio levels`);
                assert.ok(who[u].answer.includes(AUDIO_LEVEL_URI), `${u}: hearth's answer keeps them`);
            }
            const L = who.loud.participant, Q = who.silent.participant;

            /* carol knows both audio tracks and hears loud (silence, for now) */
            const tracks = await until(carol.page, ([l, q]) => {
                const ts = [...window.hearthDemo.client.tracks.values()];
                const a = ts.find(t => t.participant === l && t.kind === 'audio');
                const b = ts.find(t => t.participant === q && t.kind === 'audio');
                return a && b && {loud: a.id, silent: b.id};
            }, [L, Q], {what: 'carol knows both audio tracks'});
            await until(carol.page, async l => {
                const s = (await window.hearthDemo.stats())[l];
                return s && s.totalSamplesReceived > 0;
            }, L, {timeout: 30000, what: 'carol receives loud\'s audio'});
            await sleep(1500); /* the detector has heard both silent for a while */
            const wire = () => carol.page.evaluate(() => window.speakersWire);
            assert.ok(!(await wire()).some(m => m.speakers.some(x => x.track === tracks.loud)),
                      'nobody is named while everyone is silent');

            /* 1. loud speaks */
            const t0 = await setGain(pubs.page, 1);
            const first = await nextList(carol.page, t0, tracks.loud, true, 'loud named');
            const nameMs = first.at - t0;
            const entry = first.speakers.find(x => x.track === tracks.loud);
            console.log(`  loud named ${nameMs} ms after it started (level ${entry.level}); ` +
                        `list ${JSON.stringify(first.speakers.map(x => [x.participant, x.level]))}`);
            assert.equal(entry.participant, L);
            assert.ok(entry.level > 0.2 && entry.level <= 1, `a full-scale tone is loud: ${entry.level}`);
            const highlight = await until(carol.page, l => {
                const tile = document.querySelector(`.tile[data-participant="${l}"]`);
                const li = document.querySelector(`#participants li[data-participant="${l}"]`);
                return tile && li && tile.classList.contains('speaking') &&
                    li.classList.contains('speaking') &&
                    {text: document.getElementById('speaking').textContent,
                     outline: getComputedStyle(tile).outlineStyle};
            }, L, {timeout: 2000, what: 'carol\'s demo outlines loud'});
            assert.equal(highlight.text, 'speaking: loud');
            assert.equal(highlight.outline, 'solid');
            await until(pubs.page, l => window.pubs.loud.client.speakers.some(x => x.participant === l),
                        L, {timeout: 2000, what: 'loud hears that it speaks'});
            assert.ok(nameMs <= NAME_LIMIT_MS, `named ${nameMs} ms after speaking (limit ${NAME_LIMIT_MS})`);

            /* 2. loud falls silent */
            const t1 = await setGain(pubs.page, 0);
            const dropped = await nextList(carol.page, t1, tracks.loud, false, 'loud dropped');
            console.log(`  loud dropped ${dropped.at - t1} ms after it fell silent`);
            assert.ok(dropped.at - t1 <= DROP_LIMIT_MS, `dropped within ${DROP_LIMIT_MS} ms`);
            await until(carol.page, l => !document.querySelector(`.tile[data-participant="${l}"]`)
                                             .classList.contains('speaking'),
                        L, {timeout: 2000, what: 'the outline goes'});

            /* 3. loud speaks again, then no audio packets at all from anyone */
            await sleep(1000);
            const t2 = await setGain(pubs.page, 1);
            const again = await nextList(carol.page, t2, tracks.loud, true, 'loud named again');
            console.log(`  loud named again ${again.at - t2} ms after it started`);
            assert.ok(again.at - t2 <= NAME_LIMIT_MS, `named again within ${NAME_LIMIT_MS} ms`);
            await sleep(1500);
            const t3 = await pubs.page.evaluate(async () => {
                const at = Date.now();
                for (const u of ['loud', 'silent'])
                    await window.pubs[u].tx.sender.replaceTrack(null);
                return at;
            });
            const stopped = await nextList(carol.page, t3, tracks.loud, false,
                                          'loud dropped after stopping');
            console.log(`  loud dropped ${stopped.at - t3} ms after audio stopped (no packets)`);
            assert.ok(stopped.at - t3 <= DROP_LIMIT_MS, `dropped within ${DROP_LIMIT_MS} ms`);
            assert.deepEqual(stopped.speakers, [], 'nobody speaks');

            const all = await wire();
            assert.ok(!all.some(m => m.speakers.some(x => x.track === tracks.silent || x.participant === Q)),
                      `silent is never named: ${JSON.stringify(all)}`);
            const changes = /hearth_speaker_changes_total (\d+)/.exec(
                await (await fetch(`${env.hearthd.base}/metrics`)).text());
            assert.ok(changes && Number(changes[1]) >= 4, `the changes are counted: ${changes}`);
            console.log(`  ${all.length} room.speakers at carol, ${changes[1]} changes counted`);
        }),
    },
    {
        name: 'the SDK keeps client.speakers from room.speakers and drops departed speakers',
        fn: async () => {
            const {HearthClient} =
                await import(pathToFileURL(path.join(repoRoot, 'clients', 'js', 'hearth.js')).href);
            const c = new HearthClient();
            const seen = [];
            c.addEventListener('speakers', e => seen.push(e.detail.speakers));
            const msg = (type, data) => c._onMessage({type, data});
            const a = {participant: 'p_a', track: 'TR_a', level: 0.82};
            const b = {participant: 'p_b', track: 'TR_b', level: 0.31};
            msg('room.speakers', {speakers: [a, b, {participant: 'p_c'}, null, {...b, level: '1'}]});
            assert.deepEqual(c.speakers, [a, b], 'malformed entries are left out');
            assert.deepEqual(seen, [[a, b]]);
            msg('room.events', {events: [{type: 'track.published', data: {track: {id: 'TR_c'}}},
                                         {type: 'room.speakers', data: {speakers: [b]}}]});
            assert.deepEqual(c.speakers, [b], 'in a batch too');
            msg('room.speakers', {speakers: 'nope'});
            assert.equal(seen.length, 2, 'a list that is not one is ignored');
            msg('track.unpublished', {track: {id: 'TR_x', participant: 'p_x'}});
            assert.equal(seen.length, 2, 'another track going changes nothing');
            msg('track.unpublished', {track: {id: 'TR_b', participant: 'p_b'}});
            assert.deepEqual(c.speakers, [], 'its track unpublished: no longer speaking');
            msg('room.speakers', {speakers: [a, b]});
            msg('participant.left', {participant: {id: 'p_a'}, reason: 'left'});
            assert.deepEqual(c.speakers, [b], 'its participant left');
            c._applyResult({participant: {id: 'p_me'}, room: {}}, {missed: true});
            assert.deepEqual(c.speakers, [], 'a resume forgets them: the server tells again');
            assert.equal(seen.length, 6);
        },
    },
];

await runIfMain(import.meta.url, tests);
