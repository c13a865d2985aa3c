/*
 * Interop with a second WebRTC stack: aiortc (Python, Debian's python3-aiortc 1.4.0) and a real
 * Chromium demo page in one room on a real hearthd. aiortc_client.py is a complete hearth
 * client (ticket, join, publisher PC with a moving VP8 picture, an Opus tone and the "hearth"
 * data channel, subscriber PC answering the server's offers); it prints one JSON status line
 * per second and takes data channel commands on stdin.
 *
 * What must hold, with both orders of joining:
 *   - Chromium decodes aiortc's video (framesDecoded grows) and receives its audio
 *     (totalSamplesReceived grows) on its subscriber PC, the tile labelled with aiortc's user;
 *   - aiortc decodes Chromium's video (its frame count for the page's participant grows) and
 *     its audio;
 *   - a data message from aiortc (text and binary) reaches the page tagged with aiortc's id,
 *     and one from the page reaches aiortc tagged with the page's id;
 *   - aiortc reports no error (failed negotiation, refused SDP) and leaves cleanly on stdin EOF,
 *     and the page sees it go.
 *
 *   node aiortc.test.mjs
 *
 * HEARTH_AIORTC_ARGS passes extra flags to aiortc_client.py (e.g. `--fix-sctp-parity`,
 * `--fix-extmap`, `--log-sdp`: workarounds for aiortc's own bugs, to tell them from the
 * server's). HEARTH_KEEP_LOGS=1 also prints aiortc's stderr.
 */
import assert from 'node:assert/strict';

import {withEnv} from './harness.mjs';
import {joinAndPublish} from './media.test.mjs';
import {checkData, checkLeave, checkMedia, startPeer, withPeer} from './peer.mjs';
import {runIfMain} from './runner.mjs';

const MEDIA_WAIT_MS = 30000;

/* ---- the aiortc peer ------------------------------------------------------------------------ */

/**
 * Starts aiortc_client.py against env's hearthd (peer.mjs); resolves once it has joined, with
 * {id, last (the last status line), until(pred, what, timeout), send(cmd), tail(), stop()}.
 */
export async function startAiortc(env, room, user, more = []) {
    return startPeer(env, room, user, {
        script: 'aiortc_client.py',
        label: 'aiortc',
        argsEnv: 'HEARTH_AIORTC_ARGS',
        more,
        keep: 400,
        tailLines: 25,
        waitMs: MEDIA_WAIT_MS,
    });
}

/* Runs fn with a started aiortc peer; always stops it, and adds its stderr to a failure. */
async function withAiortc(env, room, user, fn) {
    return withPeer(await startAiortc(env, room, user), fn);
}

/* ---- the checks (peer.mjs) ------------------------------------------------------------------- */

/*
 * aiortc sent DATA_CHANNEL_OPEN and got no DATA_CHANNEL_ACK. RFC 8832 §6: the DTLS client opens
 * even stream ids, the DTLS server odd ones. Says which side broke what.
 */
function explainDataChannel(e, dc) {
    if (!dc || dc.id === null || dc.id === undefined) return e;
    const even = dc.id % 2 === 0;
    const wrongParity = (dc.dtls_role === 'client') !== even;
    e.message = `hearthd never acknowledged aiortc's DCEP DATA_CHANNEL_OPEN: aiortc (DTLS ${
        dc.dtls_role}) opened "hearth" on SCTP stream ${dc.id} and it stayed "${dc.state}". ${
        wrongParity ?
            `Stream ${dc.id} has the parity RFC 8832 §6 gives the DTLS ${
                dc.dtls_role === 'client' ? 'server' : 'client'} (hearthd): aiortc 1.4.0 picks ` +
                'ids by ICE role (controlling: odd) and hearthd, ICE-lite and answering ' +
                'a=setup:passive, makes it ICE controlling and DTLS client at once; hearthd drops ' +
                'an OPEN on a stream of its own parity (src/sctp/channel.c on_open, ours(a, sid)) ' +
                'without an ACK or a reset, so the channel hangs. HEARTH_AIORTC_ARGS=' +
                '--fix-sctp-parity makes aiortc follow the RFC.' :
            'The stream id has the right parity, so hearthd lost or refused a valid OPEN.'}\n${
        e.message}`;
    return e;
}

/* What the checks of peer.mjs need to know of aiortc. */
const AIORTC = {
    who: 'aiortc',
    waitMs: MEDIA_WAIT_MS,
    clean: (s, when = '') => assert.deepEqual(s.errors, [], `aiortc reports no error${when}`),
    audioUnit: 'frame',
    explainDataChannel,
};

function report(what, f) {
    const rate = x => `${x.frames} frames in ${x.secs.toFixed(1)} s`;
    console.log(
        `      ${what}: first frame decoded ${f.chromiumFirstMs} ms (Chromium) / ${
            f.peerFirstMs} ms (aiortc, ${f.peer.size.join('x')}) after the second joiner ` +
        `started; then Chromium ${rate(f.chromium)}, aiortc ${rate(f.peer)}`);
}

export const tests = [
    {
        name: 'Chromium first, then aiortc: each decodes the other\'s video and audio',
        timeoutMs: 120000,
        fn: () => withEnv(async env => {
            const room = 'aiortc-media-1';
            const page = await joinAndPublish(env, 'alice', room);
            await withAiortc(env, room, 'aiortc', async peer => {
                report('chromium first', await checkMedia(page, peer, peer.started, AIORTC));
                await checkLeave(page, peer, AIORTC);
            });
        }),
    },
    {
        name: 'aiortc first, then Chromium: each decodes the other\'s video and audio',
        timeoutMs: 120000,
        fn: () => withEnv(async env => {
            const room = 'aiortc-media-2';
            await withAiortc(env, room, 'aiortc', async peer => {
                const t0 = Date.now();
                const page = await joinAndPublish(env, 'alice', room);
                report('aiortc first', await checkMedia(page, peer, t0, AIORTC));
                await checkLeave(page, peer, AIORTC);
            });
        }),
    },
    {
        name: 'aiortc and Chromium exchange data channel messages both ways',
        timeoutMs: 120000,
        fn: () => withEnv(async env => {
            const room = 'aiortc-data';
            const page = await joinAndPublish(env, 'alice', room);
            await withAiortc(env, room, 'aiortc', async peer => {
                await checkData(page, peer, AIORTC);
                await checkLeave(page, peer, AIORTC);
            });
        }),
    },
];

await runIfMain(import.meta.url, tests);
