/*
 * The demo page's own media logic (tiles, labels, audio, window.hearthDemo.stats(), chat)
 * against a fake SFU: the page's signaling goes to fake_sfu.js inside the page (window.WebSocket
 * is replaced for ws://fake.invalid/, the ticket request is answered by a route), and a second
 * participant, bob, is a plain HearthClient in the same page publishing the fake camera too.
 * The real-server version of this is media.test.mjs.
 *
 *   node demo.test.mjs
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const fakeSfu = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake_sfu.js');

/* Before the page loads: the fake room, and WebSocket pointed at it for ws://fake.invalid/. */
async function useFakeSfu(page) {
    await page.addInitScript({path: fakeSfu});
    await page.addInitScript(() => {
        const room = window.FakeHearth.room('fake');
        window.fakeRoom = room;
        const Real = window.WebSocket;
        window.WebSocket = function(url, protocols) {
            return String(url).startsWith('ws://fake.invalid/') ? new room.WebSocket(url) :
                                                                  new Real(url, protocols);
        };
    });
    await page.route('**/v1/join-tickets', async route => {
        const body = JSON.parse(route.request().postData());
        const user = route.request().headers()['x-user-id'];
        await route.fulfill({
            status: 201,
            contentType: 'application/json',
            body: JSON.stringify({
                ticket: `user:${user}`,
                room: body.room,
                user,
                device: 'default',
                protocol_version: 2,
                signal_url: 'ws://fake.invalid/v1/signal?v=2',
                ice_servers: [],
                grants: ['publish', 'subscribe', 'data']
            })
        });
    });
}

export const tests = [
    {
        name: 'the demo page shows, plays and chats with a remote participant (fake SFU)',
        timeoutMs: 90000,
        fn: () => withEnv(async env => {
            const {page} = await env.openDemo(
                'demo', {room: 'fake', user: 'alice', autojoin: '1'}, {before: useFakeSfu});
            await until(
                page, () => !!(window.hearthDemo.client && window.hearthDemo.published), null,
                {what: 'alice joined and publishing'});
            assert.deepEqual(
                await page.evaluate(async () => {
                    await window.hearthDemo.published;
                    return window.hearthDemo.errors;
                }),
                []);
            const aliceId = await page.evaluate(() => window.hearthDemo.client.participantId);
            const bobId = await page.evaluate(async () => {
                const {HearthClient} = await import('/sdk/hearth.js');
                const bob = new HearthClient();
                window.bob = bob;
                window.bobData = [];
                bob.addEventListener('data', e => window.bobData.push(e.detail));
                await bob.join({
                    ticket: 'user:bob',
                    signalUrl: 'ws://fake.invalid/v1/signal?v=2',
                    room: 'fake',
                    iceServers: []
                });
                await bob.publish(
                    await navigator.mediaDevices.getUserMedia({audio: true, video: true}));
                return bob.participantId;
            });

            /* the page lists bob, shows his video in a labelled tile, and plays his audio */
            await until(
                page, id => !!document.querySelector(`#participants li[data-participant="${id}"]`),
                bobId, {what: 'bob in the participant list'});
            const tile = await until(page, id => {
                const t = document.querySelector(`.tile[data-participant="${id}"]`);
                const v = t && t.querySelector('video'), a = t && t.querySelector('audio');
                return v && v.videoWidth > 0 && a.srcObject &&
                    a.srcObject.getAudioTracks().length === 1 &&
                    {label: t.querySelector('figcaption').textContent, paused: a.paused};
            }, bobId, {timeout: 30000, what: 'bob\'s tile playing'});
            assert.deepEqual(tile, {label: 'bob', paused: false});

            /* hearthDemo.stats(): per participant, growing */
            const first = await until(page, async id => {
                const s = (await window.hearthDemo.stats())[id];
                return s && s.framesDecoded > 0 && s.totalSamplesReceived > 0 && s;
            }, bobId, {timeout: 30000, what: 'stats for bob'});
            assert.equal(first.user, 'bob');
            await new Promise(r => setTimeout(r, 1000));
            const later = (await page.evaluate(() => window.hearthDemo.stats()))[bobId];
            assert.ok(
                later.framesDecoded > first.framesDecoded &&
                    later.totalSamplesReceived > first.totalSamplesReceived,
                JSON.stringify([first, later]));

            /* chat both ways */
            await until(
                page, () => window.hearthDemo.dataOpen && window.bob.dataReady,
                null, {what: 'data channels open'});
            await page.evaluate(() => {
                window.hearthDemo.sendChat('hi bob');
                window.bob.sendData('hi alice');
            });
            const got = await until(
                page, () => window.hearthDemo.lastData && window.bobData.length && {
                    alice: window.hearthDemo.lastData,
                    bob: window.bobData,
                    log: [...document.querySelectorAll('#chat-log li')].map(li => li.textContent)
                },
                null, {what: 'chat at both'});
            assert.deepEqual(got.alice, {from: bobId, data: 'hi alice'});
            assert.deepEqual(got.bob, [{from: aliceId, data: 'hi bob'}]);
            assert.deepEqual(got.log.sort(), ['bobhi alice', 'youhi bob']);

            /* bob leaves: his tile and list entry go away */
            await page.evaluate(() => window.bob.leave());
            await until(
                page, id => !document.querySelector(`[data-participant="${id}"]`), bobId,
                {what: 'bob\'s tile and list entry removed'});
            await page.evaluate(() => window.hearthDemo.leave());
            assert.equal(await page.textContent('#status'), 'left');
        }),
    },
];

await runIfMain(import.meta.url, tests);
