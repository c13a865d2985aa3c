/*
 * Every video codec hearth forwards, end to end with Chromium: alice's publisher PC prefers one
 * codec (setCodecPreferences on its video transceiver, set by an init script before the SDK
 * adds it), hearth answers with it and offers bob the same, and bob decodes it. The codec bob
 * receives is read from his inbound-rtp stats (codecId -> codec.mimeType).
 */
import assert from 'node:assert/strict';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

function prefer(mime) {
    /* Runs in the page before any script: reorder the codecs of every video transceiver. */
    return `(() => {
        const want = ${JSON.stringify(mime)}.toLowerCase();
        const add = RTCPeerConnection.prototype.addTransceiver;
        RTCPeerConnection.prototype.addTransceiver = function(track, init) {
            const t = add.call(this, track, init);
            const kind = typeof track === 'string' ? track : track.kind;
            if (kind === 'video') {
                const codecs = RTCRtpSender.getCapabilities('video').codecs;
                const first = codecs.filter(c => c.mimeType.toLowerCase() === want &&
                    (want !== 'video/h264' || /packetization-mode=1/.test(c.sdpFmtpLine || '')));
                const rest = codecs.filter(c => !first.includes(c));
                t.setCodecPreferences([...first, ...rest]);
            }
            return t;
        };
    })();`;
}

async function receivedCodec(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        let id = null, frames = 0, mime = null;
        s.subscriber.forEach(r => {
            if (r.type === 'inbound-rtp' && r.kind === 'video') {
                id = r.codecId;
                frames = r.framesDecoded || 0;
            }
        });
        s.subscriber.forEach(r => {
            if (r.id === id) mime = r.mimeType;
        });
        return {mime, frames};
    });
}

export const tests = ['video/VP8', 'video/VP9', 'video/H264', 'video/AV1'].map(mime => ({
    name: `${mime} is forwarded and decoded`,
    timeoutMs: 60000,
    fn: () => withEnv(async env => {
        const room = `codec-${mime.split('/')[1].toLowerCase()}`;
        const alice = await env.openDemo('alice', {room, user: 'alice', autojoin: '1'}, {
            before: page => page.addInitScript(prefer(mime)),
        });
        const bob = await env.openDemo('bob', {room, user: 'bob', autojoin: '1', publish: '0'});
        const got = await until(bob.page, async () => {
            const s = await window.hearthDemo.client.getStats();
            let id = null, frames = 0, mime = null;
            s.subscriber.forEach(r => {
                if (r.type === 'inbound-rtp' && r.kind === 'video') {
                    id = r.codecId;
                    frames = r.framesDecoded || 0;
                }
            });
            s.subscriber.forEach(r => {
                if (r.id === id) mime = r.mimeType;
            });
            return frames > 10 && {mime, frames};
        }, null, {timeout: 30000, what: `bob decoding ${mime}`});
        assert.equal(got.mime.toLowerCase(), mime.toLowerCase(), 'bob receives the codec alice prefers');
        await new Promise(r => setTimeout(r, 1000));
        const later = await receivedCodec(bob.page);
        assert.ok(later.frames > got.frames, `${mime}: frames keep decoding`);
        console.log(`      ${mime}: ${later.frames} frames decoded`);
        void alice;
    }),
}));

await runIfMain(import.meta.url, tests);
