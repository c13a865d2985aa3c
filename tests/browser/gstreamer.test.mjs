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
 * `--fill-rejected`, `--offer-early`, `--bundle-policy none`); HEARTH_KEEP_LOGS=1 also prints
 * gst's stderr.
 */
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';

import {joinDemo, videoFrom} from './call.mjs';
import {Skip, sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.HEARTH_PYTHON || '/usr/bin/python3';
const MEDIA_WAIT_MS = 20000;
const DATA_WAIT_MS = 10000;

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
 * Starts gst_client.py against env's hearthd; resolves once it has joined, with {id, last (the
 * last status line), until(pred, what, timeout), send(cmd), tail(), stop()}. Skips (or fails
 * under CI=true) when the peer cannot run here.
 */
export async function startGst(env, room, user, more = []) {
    requireGst();
    const extra = [...(process.env.HEARTH_GST_ARGS || '').split(' ').filter(Boolean), ...more];
    const args = [
        path.join(here, 'gst_client.py'), '--server', env.hearthd.base, '--room', room, '--user',
        user, ...extra
    ];
    const proc = spawn(PYTHON, args, {stdio: ['pipe', 'pipe', 'pipe']});
    const peer = {
        name: user,
        proc,
        started: Date.now(),
        last: null,
        stderr: [],
        exit: new Promise(r => proc.once('exit', (code, sig) => r({code, sig}))),
    };
    readline.createInterface({input: proc.stderr}).on('line', l => {
        peer.stderr.push(l);
        if (peer.stderr.length > 600) peer.stderr.shift();
    });
    readline.createInterface({input: proc.stdout}).on('line', l => {
        try {
            peer.last = JSON.parse(l);
        } catch {
            peer.stderr.push(`(stdout) ${l}`);
        }
    });
    /* Waits until pred(status) is truthy; returns its value or throws naming `what`. */
    peer.until = async (pred, what, timeout = MEDIA_WAIT_MS) => {
        const deadline = Date.now() + timeout;
        for (;;) {
            const v = peer.last && pred(peer.last);
            if (v) return v;
            if (proc.exitCode !== null || proc.signalCode !== null)
                throw new Error(`gst ${user} exited (${proc.exitCode ?? proc.signalCode}) while ` +
                                `waiting for ${what}\n${peer.tail()}`);
            if (Date.now() > deadline)
                throw new Error(`gst ${user}: timed out after ${timeout} ms waiting for ${
                    what} (its errors: ${JSON.stringify(peer.last && peer.last.errors)}; last ` +
                                `status: ${JSON.stringify(peer.last)})\n${peer.tail()}`);
            await sleep(100);
        }
    };
    peer.send = cmd => proc.stdin.write(JSON.stringify(cmd) + '\n');
    peer.tail = (n = 30) => `--- gst ${user} stderr ---\n${peer.stderr.slice(-n).join('\n')}`;
    /* Ends it the clean way (stdin EOF); resolves with the exit status and the last status. */
    peer.stop = async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.stdin.end();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
        const r = await peer.exit;
        clearTimeout(timer);
        if (process.env.HEARTH_KEEP_LOGS === '1') console.log(peer.tail(600));
        return {...r, last: peer.last};
    };
    try {
        peer.id = await peer.until(s => s.joined && s.participant, 'the join', 15000);
    } catch (e) {
        proc.kill('SIGKILL');
        throw e;
    }
    return peer;
}

/* Runs fn with a started gst peer; always stops it, and adds its stderr to a failure. */
async function withGst(env, room, user, fn, more = []) {
    const peer = await startGst(env, room, user, more);
    try {
        return await fn(peer);
    } catch (e) {
        if (!e.message.includes(`--- gst ${user} stderr ---`)) e.message += `\n${peer.tail()}`;
        throw e;
    } finally {
        await peer.stop();
    }
}

/* ---- the Chromium page ------------------------------------------------------------------------ */

/* The page's view of participant `from`: {framesDecoded, totalSamplesReceived} once both reach
 * the minimums. */
function pageMedia(page, from, minFrames, minSamples, what, timeout = MEDIA_WAIT_MS) {
    return until(page, async ([id, f, a]) => {
        const s = (await window.hearthDemo.stats())[id];
        return s && s.framesDecoded >= f && s.totalSamplesReceived >= a ? s : null;
    }, [from, minFrames, minSamples], {timeout, what});
}

/* ---- the checks -------------------------------------------------------------------------------- */

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

/* Both directions of media between `page` and `peer`; returns timing figures. */
async function checkMedia(page, peer, t0) {
    const stamp = p => p.then(s => ({s, ms: Date.now() - t0}));
    const [c1, g1] = await Promise.all([
        stamp(pageMedia(
            page.page, peer.id, 1, 1,
            `Chromium decoding gst's video and receiving its audio (participant ${peer.id})`)),
        stamp(peer.until(
            s => (s.frames[page.id] || 0) >= 1 && (s.audio[page.id] || 0) >= 1 && s,
            `gst decoding Chromium's video and audio (participant ${page.id})`)),
    ]);
    const figures = {chromiumFirstMs: c1.ms, gstFirstMs: g1.ms};
    const since = Date.now();
    await sleep(2000);

    const c2 = await pageMedia(
        page.page, peer.id, c1.s.framesDecoded + 10, c1.s.totalSamplesReceived + 1,
        'Chromium\'s framesDecoded and totalSamplesReceived for gst to keep growing');
    /* the same from inbound-rtp directly (call.mjs), which also names the stream */
    const rtp = await videoFrom(page.page, peer.id, c2.framesDecoded);
    assert.ok(rtp.frameWidth > 0, 'Chromium\'s inbound-rtp for gst has a frame width');
    const tile = await page.page.evaluate(id => {
        const t = document.querySelector(`.tile[data-participant="${id}"]`);
        return t && {
            label: t.querySelector('figcaption').textContent,
            width: t.querySelector('video').videoWidth,
            height: t.querySelector('video').videoHeight
        };
    }, peer.id);
    assert.ok(tile, 'the page has a tile for gst');
    assert.equal(tile.label, peer.name, 'the tile is labelled with gst\'s user');
    assert.deepEqual([tile.width, tile.height], [320, 240], 'the page renders gst\'s 320x240');

    const n = g1.s.frames[page.id], m = g1.s.audio[page.id];
    const g2 = await peer.until(
        s => s.frames[page.id] >= n + 10 && s.audio[page.id] > m + 4800 && s,
        'gst\'s video frame and audio sample counts for Chromium to keep growing');
    const secs = (Date.now() - since) / 1000;
    figures.chromium = {frames: c2.framesDecoded - c1.s.framesDecoded, secs};
    figures.gst = {
        frames: g2.frames[page.id] - n,
        samples: g2.audio[page.id] - m,
        size: g2.sizes[page.id],
        secs
    };
    assert.ok(g2.sizes[page.id] && g2.sizes[page.id][0] > 0, 'gst decoded frames with a size');
    assert.deepEqual(Object.keys(g2.frames), [page.id], 'gst gets video from the page only');
    assert.deepEqual(Object.keys(g2.audio), [page.id], 'gst gets audio from the page only');
    checkClean(g2);
    return figures;
}

/* Data channel messages both ways between `page` and `peer`. */
async function checkData(page, peer) {
    await until(
        page.page, () => window.hearthDemo.dataOpen, null, {what: 'the page\'s data channel'});
    await peer.until(
        s => s.data_open, 'gst\'s publisher data channel "hearth" to open', DATA_WAIT_MS);

    peer.send({send: 'hello from gst'});
    const text = await until(
        page.page,
        () => window.hearthDemo.messages.find(m => m.data === 'hello from gst') || null, null,
        {timeout: DATA_WAIT_MS, what: 'gst\'s text message at the page'});
    assert.equal(text.from, peer.id, 'the text is tagged with gst\'s id');

    peer.send({send_hex: '000aff68'});
    const bin = await until(page.page, () => {
        const m = window.hearthDemo.messages.find(x => x.data instanceof ArrayBuffer);
        return m && {from: m.from, bytes: [...new Uint8Array(m.data)]};
    }, null, {timeout: DATA_WAIT_MS, what: 'gst\'s binary message at the page'});
    assert.deepEqual(bin, {from: peer.id, bytes: [0, 10, 255, 104]});

    await page.page.evaluate(() => window.hearthDemo.sendChat('hello gst'));
    const got = await peer.until(
        s => s.data.find(d => d.data === 'hello gst'), 'the page\'s message at gst', DATA_WAIT_MS);
    assert.equal(got.from, page.id, 'the message is tagged with the page\'s id');
    assert.equal(peer.last.data.length, 1, 'gst does not get its own messages back');
    checkClean(peer.last);
}

/* gst leaves on stdin EOF: it exits 0 and the page sees its tile go. */
async function checkLeave(page, peer) {
    const {code, last} = await peer.stop();
    assert.equal(code, 0, 'gst exits 0 on stdin EOF');
    assert.equal(last && last.closed, true, 'gst printed its closing status');
    checkClean(last);
    await until(
        page.page, id => !document.querySelector(`.tile[data-participant="${id}"]`), peer.id,
        {what: 'gst\'s tile removed at the page'});
}

function report(what, f) {
    const rate = x => `${x.frames} frames in ${x.secs.toFixed(1)} s`;
    console.log(`      ${what}: first media both ways ${f.chromiumFirstMs} ms (Chromium) / ${
        f.gstFirstMs} ms (gst, ${f.gst.size.join('x')}) after the second joiner started; ` +
                `then Chromium ${rate(f.chromium)}, gst ${rate(f.gst)} + ${f.gst.samples} samples`);
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
                report('chromium first', await checkMedia(page, peer, peer.started));
                await checkData(page, peer);
                await checkLeave(page, peer);
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
                report('gst first', await checkMedia(page, peer, t0));
                await checkLeave(page, peer);
            });
        }),
    },
];

await runIfMain(import.meta.url, tests);
