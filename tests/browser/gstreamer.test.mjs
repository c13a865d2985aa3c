/*
 * Interop with a third WebRTC stack: GStreamer 1.22's webrtcbin (libnice ICE, GStreamer's own
 * DTLS/SRTP and SCTP) in the bundle policy applications use, max-bundle, and a real Chromium
 * demo page in one room on a real hearthd. gst_client.py is a complete hearth client (ticket,
 * join, a publisher webrtcbin with a moving VP8 picture, an Opus tone and the "hearth" data
 * channel, a subscriber webrtcbin answering the server's offers); it prints one JSON status line
 * per second and takes data channel commands on stdin.
 *
 * With max-bundle, webrtcbin offers every m-line but the first as port 0 + a=bundle-only
 * (RFC 8843 §6): hearthd must accept those into the BUNDLE group, or gst's audio and data
 * channel never flow. What must hold:
 *   - the publisher offer gst sent really had its non-first m-lines port 0 + a=bundle-only,
 *     all of them in one BUNDLE group (so the test proves max-bundle, not a fallback);
 *   - Chromium decodes gst's video (framesDecoded grows, 320x240 tile labelled with gst's user)
 *     and receives its audio (totalSamplesReceived grows);
 *   - gst decodes Chromium's video and audio (its per-participant counts grow);
 *   - data channel messages both ways (text and binary from gst, text from the page), each
 *     tagged with the sender's participant id;
 *   - gst refused no server offer, reports no error, and leaves cleanly on stdin EOF.
 * Churn (publishers of each stack coming and going while a gst subscriber stays) is in
 * churn.test.mjs.
 *
 *   node gstreamer.test.mjs
 *
 * Without python3-gi / webrtcbin the tests are skipped, except under CI=true, where a missing
 * peer fails them. HEARTH_GST_ARGS passes extra flags to gst_client.py (e.g. `--log-sdp`,
 * `--wait-ssrc`, `--keepalive-conncheck`, `--bundle-policy none`); HEARTH_KEEP_LOGS=1 also prints
 * gst's stderr.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';

import {joinDemo, videoFrom} from './call.mjs';
import {Skip, withEnv} from './harness.mjs';
import {checkData, checkLeave, checkMedia, PYTHON, startPeer, withPeer} from './peer.mjs';
import {runIfMain} from './runner.mjs';

const MEDIA_WAIT_MS = 20000;

/* ---- is the peer here? ------------------------------------------------------------------------ */

let probed = null;

/* Skips (or, under CI=true, fails) when python3-gi, webrtcbin or libnice are missing. */
export function requireGst() {
    if (probed === null) {
        const code = [
            'import gi',
            'for n in ("Gst", "GstSdp", "GstWebRTC"): gi.require_version(n, "1.0")',
            'gi.require_version("Nice", "0.1")',
            'from gi.repository import Gst, GstSdp, GstWebRTC, Nice',
            'import websockets',
            'Gst.init(None)',
            'missing = [e for e in ("webrtcbin", "nicesrc", "vp8enc", "vp8dec", "opusenc", ' +
                '"opusdec", "rtpvp8pay", "rtpopuspay", "decodebin", "videotestsrc", ' +
                '"audiotestsrc") if Gst.ElementFactory.find(e) is None]',
            'assert not missing, "missing GStreamer elements: " + " ".join(missing)',
        ].join('\n');
        const r = spawnSync(PYTHON, ['-c', code], {encoding: 'utf8', timeout: 30000});
        probed = r.status === 0 ? '' :
                                  `${PYTHON} cannot run a webrtcbin client: ${
                                      (r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
    }
    if (!probed) return;
    if (/^(1|true|yes)$/i.test(process.env.CI || ''))
        throw new Error(`${probed} (CI=true: a missing peer fails the test)`);
    throw new Skip(`${probed} (apt-get install python3-gi gir1.2-gst-plugins-bad-1.0 ` +
                   'gir1.2-nice-0.1 gstreamer1.0-nice gstreamer1.0-plugins-{good,bad})');
}

/* ---- the webrtcbin peer ----------------------------------------------------------------------- */

/**
 * Starts gst_client.py against env's hearthd (peer.mjs); resolves once it has joined, with {id,
 * last (the last status line), until(pred, what, timeout), send(cmd), tail(), stop()}. Skips (or
 * fails under CI=true) when the peer cannot run here.
 */
export async function startGst(env, room, user, more = []) {
    requireGst();
    return startPeer(env, room, user, {
        script: 'gst_client.py',
        label: `gst ${user}`,
        argsEnv: 'HEARTH_GST_ARGS',
        more,
        keep: 600,
        tailLines: 30,
        waitMs: MEDIA_WAIT_MS,
    });
}

/* Runs fn with a started gst peer; always stops it, and adds its stderr to a failure. */
async function withGst(env, room, user, fn, more = []) {
    return withPeer(await startGst(env, room, user, more), fn);
}

/* ---- the checks (and peer.mjs's) ---------------------------------------------------------------- */

/*
 * The publisher offer gst sent: max-bundle means one BUNDLE group with every mid, the first
 * m-line a real port, every other one port 0 + a=bundle-only (RFC 8843 §6). Without this the
 * test could pass on a bundle policy that never exercises bundle-only.
 */
async function checkMaxBundleOffer(peer) {
    const offer = await peer.until(s => s.offer, 'gst\'s publisher offer', 15000);
    const {group, mlines} = offer;
    const kinds = mlines.map(m => m.m.split(' ')[0].slice(2));
    assert.deepEqual(
        kinds.sort(), ['application', 'audio', 'video'],
        `gst offered video, audio and data (m-lines: ${JSON.stringify(mlines)})`);
    assert.ok(group, 'gst\'s offer has an a=group:BUNDLE line');
    assert.deepEqual(
        group.replace('a=group:BUNDLE', '').trim().split(/\s+/).sort(),
        mlines.map(m => m.mid).sort(), 'every m-line of gst\'s offer is in its BUNDLE group');
    const port = m => Number(m.m.split(' ')[1]);
    assert.ok(port(mlines[0]) !== 0 && !mlines[0].bundle_only,
              `gst's first m-line carries the transport (${mlines[0].m})`);
    for (const m of mlines.slice(1)) {
        assert.equal(port(m), 0, `gst's non-first m-line is port 0: ${m.m}`);
        assert.equal(m.bundle_only, true, `gst's non-first m-line has a=bundle-only: ${m.m}`);
    }
    /* hearthd's answer takes every one of them into its BUNDLE group (RFC 8843 §7.3.1) */
    const answer = await peer.until(s => s.answer, 'hearthd\'s answer to gst\'s offer', 15000);
    assert.deepEqual(
        answer.mlines.map(m => m.mid), mlines.map(m => m.mid), 'the answer keeps the offer\'s mids');
    const answerBundle = (answer.group || '').replace('a=group:BUNDLE', '').trim().split(/\s+/);
    for (const m of answer.mlines) {
        assert.notEqual(port(m), 0, `hearthd accepted gst's m-line ${m.mid}: ${m.m}`);
        assert.ok(answerBundle.includes(m.mid), `hearthd bundles gst's m-line ${m.mid}`);
    }
    /* the kinds whose media the checks below see flowing through bundle-only m-lines */
    return mlines.slice(1).map(m => m.m.split(' ')[0].slice(2));
}

/* Every subscriber offer gst got was taken, and it reports no error. */
function checkClean(status, who = 'gst') {
    const refused = (status.sub_revisions || []).filter(r => !r.ok);
    assert.deepEqual(refused, [], `${who} refused none of hearthd's subscriber offers`);
    assert.deepEqual(status.errors, [], `${who} reports no error`);
}

/* What the checks of peer.mjs need to know of gst. */
const GST = {
    who: 'gst',
    waitMs: MEDIA_WAIT_MS,
    clean: status => checkClean(status),
    audioGrowth: 4800,
    audioUnit: 'sample',
    /* the same from inbound-rtp directly (call.mjs), which also names the stream */
    checkPage: async (page, peer, stats) => {
        const rtp = await videoFrom(page.page, peer.id, stats.framesDecoded);
        assert.ok(rtp.frameWidth > 0, 'Chromium\'s inbound-rtp for gst has a frame width');
    },
    checkStatus: (status, page) =>
        assert.deepEqual(Object.keys(status.audio), [page.id], 'gst gets audio from the page only'),
};

function report(what, f) {
    const rate = x => `${x.frames} frames in ${x.secs.toFixed(1)} s`;
    console.log(`      ${what}: first media both ways ${f.chromiumFirstMs} ms (Chromium) / ${
        f.peerFirstMs} ms (gst, ${f.peer.size.join('x')}) after the second joiner started; ` +
                `then Chromium ${rate(f.chromium)}, gst ${rate(f.peer)} + ${f.peer.samples} samples`);
}

export const tests = [
    {
        name: 'Chromium first, then gst (max-bundle): bundle-only offer; media and data both ways',
        timeoutMs: 90000,
        fn: () => requireGst() || withEnv(async env => {
            const room = 'gst-media-1';
            const page = await joinDemo(env, 'alice', room);
            await withGst(env, room, 'gst', async peer => {
                const bundled = await checkMaxBundleOffer(peer);
                console.log(`      gst offered ${bundled.join(' and ')} as port-0 a=bundle-only ` +
                            'm-lines; hearthd accepted them into its BUNDLE group');
                report('chromium first', await checkMedia(page, peer, peer.started, GST));
                await checkData(page, peer, GST);
                await checkLeave(page, peer, GST);
            });
        }),
    },
    {
        name: 'gst first (max-bundle), then Chromium: each decodes the other\'s video and audio',
        timeoutMs: 90000,
        fn: () => requireGst() || withEnv(async env => {
            const room = 'gst-media-2';
            await withGst(env, room, 'gst', async peer => {
                await checkMaxBundleOffer(peer);
                const t0 = Date.now();
                const page = await joinDemo(env, 'alice', room);
                report('gst first', await checkMedia(page, peer, t0, GST));
                await checkLeave(page, peer, GST);
            });
        }),
    },
];

await runIfMain(import.meta.url, tests);
