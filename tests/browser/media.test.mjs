/*
 * Media through hearthd: two real Chromium pages publish the fake camera and microphone through
 * the demo page, and each must decode the other's video (framesDecoded grows) and receive its
 * audio (totalSamplesReceived grows) on the subscriber PC; data channel messages, text and
 * binary, arrive at the other page tagged with the sender's participant id.
 *
 * The demo page's own parts are checked on the way: the tile labelled with the sender's name
 * shows the video and plays the audio, the chat log names the sender. hearthd runs on its own
 * media defaults here (the other tests pin one worker): one worker process per core, which the
 * log's `media.ready` lines name. Run it by itself with `node media.test.mjs`; HEARTHD_ARGS
 * passes extra flags to hearthd.
 */
import assert from 'node:assert/strict';
import os from 'node:os';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const MEDIA_WAIT_MS = 30000;

/* Joins through the query string and waits for the join and the end of publishing (`before`:
 * as env.openDemo's, run before the navigation). */
export async function joinAndPublish(env, name, room, {before, params = {}} = {}) {
    const p = await env.openDemo(name, {room, user: name, autojoin: '1', ...params}, {before});
    await until(
        p.page,
        () =>
            !!(window.hearthDemo.client && window.hearthDemo.client.state === 'joined' &&
               window.hearthDemo.published),
        null, {what: `${name} joined and publishing`});
    const errors = await p.page.evaluate(async () => {
        await window.hearthDemo.published;
        return window.hearthDemo.errors;
    });
    assert.deepEqual(errors, [], `${name} published without errors`);
    p.id = await p.page.evaluate(() => window.hearthDemo.client.participantId);
    return p;
}

/* Waits until `page` decodes video and receives audio from participant `from`; returns stats. */
function mediaFrom(page, from, minFrames) {
    return until(page, async ([id, min]) => {
        const s = (await window.hearthDemo.stats())[id];
        return s && s.framesDecoded >= min && s.totalSamplesReceived > 0 ? s : null;
    }, [from, minFrames], {timeout: MEDIA_WAIT_MS, what: `media from ${from}`});
}

export const tests = [
    {
        name: 'two pages decode each other\'s video and audio and exchange data',
        timeoutMs: 120000,
        fn: () => withEnv(async env => {
            const room = 'browser-media';
            const alice = await joinAndPublish(env, 'alice', room);
            const bob = await joinAndPublish(env, 'bob', room);

            for (const [rx, tx] of [[alice, bob], [bob, alice]]) {
                const first = await mediaFrom(rx.page, tx.id, 1);
                await new Promise(r => setTimeout(r, 1500));
                const later = await mediaFrom(rx.page, tx.id, first.framesDecoded + 1);
                assert.ok(
                    later.framesDecoded > first.framesDecoded, `${rx.name}: frames keep decoding`);
                assert.ok(
                    later.totalSamplesReceived > first.totalSamplesReceived,
                    `${rx.name}: audio samples keep arriving`);
                const tile = await rx.page.evaluate(id => {
                    const t = document.querySelector(`.tile[data-participant="${id}"]`);
                    const a = t && t.querySelector('audio');
                    return t && {
                        label: t.querySelector('figcaption').textContent,
                        width: t.querySelector('video').videoWidth,
                        audio:
                            !!a.srcObject && a.srcObject.getAudioTracks().length === 1 && !a.paused
                    };
                }, tx.id);
                assert.equal(
                    tile && tile.label, tx.name, `${rx.name}'s grid labels ${tx.name}'s video`);
                assert.ok(tile.width > 0, `${rx.name} renders ${tx.name}'s video`);
                assert.ok(tile.audio, `${rx.name} plays ${tx.name}'s audio in the tile`);
            }

            for (const p of [alice, bob])
                await until(
                    p.page, () => window.hearthDemo.dataOpen, null,
                    {what: `${p.name}'s data channel`});
            await alice.page.evaluate(() => window.hearthDemo.sendChat('hello bob'));
            const text = await until(
                bob.page,
                () => window.hearthDemo.lastData &&
                    window.hearthDemo.lastData.data === 'hello bob' && window.hearthDemo.lastData,
                null, {what: 'the text message at bob'});
            assert.equal(text.from, alice.id);
            assert.deepEqual(
                await bob.page.evaluate(
                    () => [...document.querySelectorAll('#chat-log li')].map(li => li.textContent)),
                ['alicehello bob'], 'bob\'s chat log names alice');

            await bob.page.evaluate(
                () => window.hearthDemo.client.sendData(new Uint8Array([0, 10, 255, 104]).buffer));
            const bin = await until(alice.page, () => {
                const d = window.hearthDemo.lastData;
                return d && d.data instanceof ArrayBuffer &&
                    {from: d.from, bytes: [...new Uint8Array(d.data)]};
            }, null, {what: 'the binary message at alice'});
            assert.deepEqual(bin, {from: bob.id, bytes: [0, 10, 255, 104]});
            assert.equal(
                await alice.page.evaluate(() => window.hearthDemo.messages.length), 1,
                'alice does not get her own message back');

            await bob.page.evaluate(() => window.hearthDemo.leave());
            await until(
                alice.page, id => !document.querySelector(`.tile[data-participant="${id}"]`),
                bob.id, {what: 'bob\'s tile removed at alice'});
            await alice.page.evaluate(() => window.hearthDemo.leave());
            const cores = Math.min(os.availableParallelism(), 16);
            const ready = [...env.hearthd.log().matchAll(/media\.ready .* worker=(\d+)( pid=\d+)?/g)];
            assert.equal(ready.length, cores, `one media worker per core (${cores})`);
            assert.equal(ready.every(m => !!m[2]), cores > 1,
                         'as worker processes when more than one');
        }, {defaultWorkers: true}),
    },
];

await runIfMain(import.meta.url, tests);
