/*
 * RED (RFC 2198) passthrough: alice's Chromium sends its microphone as RED (audio/red first in
 * its codec preferences). bob's Chromium accepts RED and receives it as is; an aiortc client,
 * which has no RED, is offered plain Opus beside it and receives the primary blocks hearth cuts
 * out of alice's RED packets. Both decode alice's audio.
 */
import assert from 'node:assert/strict';

import {startAiortc} from './aiortc.test.mjs';
import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const PREFER_RED = `(() => {
    const add = RTCPeerConnection.prototype.addTransceiver;
    RTCPeerConnection.prototype.addTransceiver = function(track, init) {
        const t = add.call(this, track, init);
        if ((typeof track === 'string' ? track : track.kind) === 'audio') {
            const codecs = RTCRtpSender.getCapabilities('audio').codecs;
            const red = codecs.filter(c => c.mimeType.toLowerCase() === 'audio/red');
            t.setCodecPreferences([...red, ...codecs.filter(c => !red.includes(c))]);
        }
        return t;
    };
})();`;

export const tests = [
    {
        name: 'RED to a subscriber that takes it, its primary Opus to one that does not',
        timeoutMs: 90000,
        fn: () => withEnv(async env => {
            const alice = await env.openDemo('alice', {room: 'red', user: 'alice', autojoin: '1'},
                                             {before: page => page.addInitScript(PREFER_RED)});
            await until(alice.page, () => window.hearthDemo.client && window.hearthDemo.client.participantId,
                        null, {what: 'alice joined'});
            const aliceId = await alice.page.evaluate(() => window.hearthDemo.client.participantId);
            const sent = await until(alice.page, async () => {
                const s = await window.hearthDemo.client.getStats();
                let id = null, mime = null;
                s.publisher.forEach(r => {
                    if (r.type === 'outbound-rtp' && r.kind === 'audio' && r.packetsSent > 20) id = r.codecId;
                });
                s.publisher.forEach(r => {
                    if (r.id === id) mime = r.mimeType;
                });
                return mime;
            }, null, {what: 'alice sending audio'});
            console.log(`      alice's outbound-rtp codec: ${sent}`);

            const bob = await env.openDemo('bob', {room: 'red', user: 'bob', autojoin: '1', publish: '0'});
            const peer = await startAiortc(env, 'red', 'aio');
            try {
                const got = await until(bob.page, async () => {
                    const s = await window.hearthDemo.client.getStats();
                    let samples = 0;
                    s.subscriber.forEach(r => {
                        if (r.type === 'inbound-rtp' && r.kind === 'audio') samples = r.totalSamplesReceived || 0;
                    });
                    return samples > 48000 && {samples};
                }, null, {timeout: 20000, what: 'bob receiving alice\'s audio'});
                /* Chromium's stats name the decoder (opus) either way: RED shows in the SDP. */
                const bobAudio = await bob.page.evaluate(() => {
                    const sdp = window.hearthDemo.client.subscriberPc.localDescription.sdp;
                    const m = sdp.split('m=').find(x => x.startsWith('audio'));
                    return m.split('\r\n')[0];
                });
                const redPt = (await alice.page.evaluate(() => window.hearthDemo.client.publisherPc
                    .remoteDescription.sdp.match(/a=rtpmap:(\d+) red\/48000/)))[1];
                assert.equal(bobAudio.split(' ')[3], redPt, `bob's answer takes RED first (${bobAudio})`);
                const frames = await peer.until(s => s.audio && s.audio[aliceId] > 50 && s.audio[aliceId],
                                                'aiortc decoding alice\'s audio (plain Opus)');
                console.log(`      bob (RED): ${got.samples} samples; aiortc (primary Opus only): ${frames} audio frames`);
            } finally {
                await peer.stop();
            }
        }),
    },
];

await runIfMain(import.meta.url, tests);
