/*
 * ICE restart without losing the WebSocket (docs/protocol.md §2.4): two Chromium demo pages
 * publish to each other through a real hearthd. Alice restarts ICE on her publisher PC
 * (RTCPeerConnection.restartIce(): the SDK offers new credentials, hearthd answers with new ones
 * of its own), then asks for a subscriber restart (`ice.restart`: hearthd sends a new subscriber
 * offer with new credentials). After each, the ICE credentials on both sides have changed, the
 * PC is connected, and video keeps being decoded across it: bob still decodes alice, alice still
 * decodes bob. No reconnect happens (the WebSocket and the participant stay).
 *
 *   node ice_restart.test.mjs
 */
import assert from 'node:assert/strict';

import {videoFrom} from './call.mjs';
import {until, withEnv} from './harness.mjs';
import {joinAndPublish} from './media.test.mjs';
import {runIfMain} from './runner.mjs';

/* a=ice-ufrag of a description (the first; BUNDLE shares one). */
function ufrag(sdp) {
    const m = /a=ice-ufrag:(\S+)/.exec(sdp || '');
    return m ? m[1] : null;
}

async function creds(page, pc) {
    const d = await page.evaluate(which => {
        const p = window.hearthDemo.client[which];
        return {local: p.localDescription && p.localDescription.sdp,
                remote: p.remoteDescription && p.remoteDescription.sdp,
                state: p.connectionState};
    }, pc);
    return {local: ufrag(d.local), remote: ufrag(d.remote), state: d.state};
}

/* More frames than now of `from`'s video at `page`, within the deadline. */
async function keepsDecoding(page, from, what) {
    const now = (await videoFrom(page, from)).framesDecoded;
    const v = await videoFrom(page, from, now + 15, 15000);
    assert.ok(v.framesDecoded > now, `${what}: video keeps being decoded`);
}

export const tests = [
    {
        name: 'ICE restart on the publisher (a new offer) and on the subscriber (ice.restart)',
        fn: () => withEnv(async env => {
            const room = 'ice-restart';
            const alice = await joinAndPublish(env, 'alice', room);
            const bob = await joinAndPublish(env, 'bob', room);
            await videoFrom(bob.page, alice.id);
            await videoFrom(alice.page, bob.id);

            const pub0 = await creds(alice.page, 'publisherPc');
            await alice.page.evaluate(() => window.hearthDemo.client.publisherPc.restartIce());
            const pub1 = await until(alice.page, ([u]) => {
                const pc = window.hearthDemo.client.publisherPc;
                const m = /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription ? pc.remoteDescription.sdp : '');
                return m && m[1] !== u && pc.connectionState === 'connected' && pc.signalingState === 'stable';
            }, [pub0.remote], {what: 'the publisher PC restarted and connected'});
            assert.ok(pub1);
            const pubAfter = await creds(alice.page, 'publisherPc');
            assert.notEqual(pubAfter.local, pub0.local, 'alice offered new credentials');
            assert.notEqual(pubAfter.remote, pub0.remote, 'hearthd answered with new credentials');
            await keepsDecoding(bob.page, alice.id, 'bob after alice\'s publisher restart');

            const sub0 = await creds(alice.page, 'subscriberPc');
            const ack = await alice.page.evaluate(
                () => window.hearthDemo.client.request('ice.restart', {pc: 'subscriber'}));
            assert.deepEqual(ack, {}, 'ice.restart acknowledged');
            await until(alice.page, ([u]) => {
                const pc = window.hearthDemo.client.subscriberPc;
                const m = /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription ? pc.remoteDescription.sdp : '');
                return m && m[1] !== u && pc.connectionState === 'connected' && pc.signalingState === 'stable';
            }, [sub0.remote], {what: 'the subscriber PC restarted and connected'});
            const subAfter = await creds(alice.page, 'subscriberPc');
            assert.notEqual(subAfter.remote, sub0.remote, 'hearthd offered new credentials');
            await keepsDecoding(alice.page, bob.id, 'alice after her subscriber restart');

            const err = await alice.page.evaluate(() => window.hearthDemo.client
                .request('ice.restart', {pc: 'publisher'}).then(() => null, e => e.code));
            assert.equal(err, 'bad_request', 'the publisher restarts with an offer, not ice.restart');
            const st = await alice.page.evaluate(() => ({
                state: window.hearthDemo.client.state, id: window.hearthDemo.client.participantId,
                errors: window.hearthDemo.errors,
            }));
            assert.deepEqual(st, {state: 'joined', id: alice.id, errors: []},
                'still the same session, no reconnect, no errors');
        }),
    },
];

await runIfMain(import.meta.url, tests);
