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
import {spawn} from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';

import {until, withEnv} from './harness.mjs';
import {joinAndPublish} from './media.test.mjs';
import {runIfMain} from './runner.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.HEARTH_PYTHON || '/usr/bin/python3';
const MEDIA_WAIT_MS = 30000;
const DATA_WAIT_MS = 10000;

const sleep = ms => new Promise(r => setTimeout(r, ms));

/* ---- the aiortc peer ------------------------------------------------------------------------ */

/** Starts aiortc_client.py against env's hearthd; resolves once it printed its first status. */
export async function startAiortc(env, room, user, more = []) {
    const extra = [...(process.env.HEARTH_AIORTC_ARGS || '').split(' ').filter(Boolean), ...more];
    const args = [
        path.join(here, 'aiortc_client.py'), '--server', env.hearthd.base, '--room', room, '--user',
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
        if (peer.stderr.length > 400) peer.stderr.shift();
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
            if (proc.exitCode !== null)
                throw new Error(
                    `aiortc exited (${proc.exitCode}) while waiting for ${what}\n${peer.tail()}`);
            if (Date.now() > deadline)
                throw new Error(`aiortc: timed out after ${timeout} ms waiting for ${
                    what} (last status: ${JSON.stringify(peer.last)})\n${peer.tail()}`);
            await sleep(100);
        }
    };
    peer.send = cmd => proc.stdin.write(JSON.stringify(cmd) + '\n');
    peer.tail = (n = 25) => `--- aiortc stderr ---\n${peer.stderr.slice(-n).join('\n')}`;
    /* Ends it the clean way (stdin EOF); resolves with the exit status and the last status. */
    peer.stop = async () => {
        if (proc.exitCode === null) proc.stdin.end();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
        const r = await peer.exit;
        clearTimeout(timer);
        if (process.env.HEARTH_KEEP_LOGS === '1') console.log(peer.tail(400));
        return {...r, last: peer.last};
    };
    peer.id = (await peer.until(s => s.joined && s.participant, 'the join', 15000));
    return peer;
}

/* Runs fn with a started aiortc peer; always stops it, and adds its stderr to a failure. */
async function withAiortc(env, room, user, fn) {
    const peer = await startAiortc(env, room, user);
    try {
        return await fn(peer);
    } catch (e) {
        if (!e.message.includes('--- aiortc stderr ---')) e.message += `\n${peer.tail()}`;
        throw e;
    } finally {
        await peer.stop();
    }
}

/* ---- the Chromium page ---------------------------------------------------------------------- */

/* The page's view of participant `from`: {framesDecoded, totalSamplesReceived} or null. */
function pageMedia(page, from, minFrames, minSamples, what) {
    return until(page, async ([id, f, a]) => {
        const s = (await window.hearthDemo.stats())[id];
        return s && s.framesDecoded >= f && s.totalSamplesReceived >= a ? s : null;
    }, [from, minFrames, minSamples], {timeout: MEDIA_WAIT_MS, what});
}

/* ---- the checks ------------------------------------------------------------------------------ */

/* Both directions of media between `page` and `peer`; returns timing figures. */
async function checkMedia(page, peer, t0) {
    const stamp = p => p.then(s => ({s, ms: Date.now() - t0}));
    /* both first frames are awaited at once, so each figure is its own */
    const [c1, a1] = await Promise.all([
        stamp(pageMedia(
            page.page, peer.id, 1, 1,
            `Chromium decoding aiortc's video and receiving its audio (participant ${peer.id})`)),
        stamp(peer.until(
            s => (s.frames[page.id] || 0) >= 1 && (s.audio[page.id] || 0) >= 1 && s,
            `aiortc decoding Chromium's video and audio (participant ${page.id})`)),
    ]);
    const figures = {chromiumFirstFrameMs: c1.ms, aiortcFirstFrameMs: a1.ms};
    const since = Date.now();
    await sleep(2000);

    const c2 = await pageMedia(
        page.page, peer.id, c1.s.framesDecoded + 10, c1.s.totalSamplesReceived + 1,
        'Chromium\'s framesDecoded and totalSamplesReceived for aiortc to keep growing');
    const tile = await page.page.evaluate(id => {
        const t = document.querySelector(`.tile[data-participant="${id}"]`);
        return t && {
            label: t.querySelector('figcaption').textContent,
            width: t.querySelector('video').videoWidth,
            height: t.querySelector('video').videoHeight
        };
    }, peer.id);
    assert.ok(tile, 'the page has a tile for aiortc');
    assert.equal(tile.label, peer.name, 'the tile is labelled with aiortc\'s user');
    assert.deepEqual([tile.width, tile.height], [320, 240], 'the page renders aiortc\'s 320x240');

    const n = a1.s.frames[page.id], m = a1.s.audio[page.id];
    const a2 = await peer.until(
        s => s.frames[page.id] >= n + 10 && s.audio[page.id] > m && s,
        'aiortc\'s video and audio frame counts for Chromium to keep growing');
    const secs = (Date.now() - since) / 1000;
    figures.chromium = {frames: c2.framesDecoded - c1.s.framesDecoded, secs};
    figures.aiortc = {frames: a2.frames[page.id] - n, size: a2.sizes[page.id], secs};
    assert.ok(a2.sizes[page.id][0] > 0, 'aiortc decoded frames with a size');
    assert.deepEqual(Object.keys(a2.frames), [page.id], 'aiortc gets video from the page only');
    assert.deepEqual(a2.errors, [], 'aiortc reports no error');
    return figures;
}

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

/* Data channel messages both ways between `page` and `peer`. */
async function checkData(page, peer) {
    await until(
        page.page, () => window.hearthDemo.dataOpen, null, {what: 'the page\'s data channel'});
    await peer
        .until(s => s.data_open, 'aiortc\'s publisher data channel "hearth" to open', DATA_WAIT_MS)
        .catch(e => {
            throw explainDataChannel(e, peer.last && peer.last.dc);
        });

    peer.send({send: 'hello from aiortc'});
    const text = await until(
        page.page,
        () => window.hearthDemo.messages.find(m => m.data === 'hello from aiortc') || null, null,
        {timeout: DATA_WAIT_MS, what: 'aiortc\'s text message at the page'});
    assert.equal(text.from, peer.id, 'the text is tagged with aiortc\'s id');

    peer.send({send_hex: '000aff68'});
    const bin = await until(page.page, () => {
        const m = window.hearthDemo.messages.find(x => x.data instanceof ArrayBuffer);
        return m && {from: m.from, bytes: [...new Uint8Array(m.data)]};
    }, null, {timeout: DATA_WAIT_MS, what: 'aiortc\'s binary message at the page'});
    assert.deepEqual(bin, {from: peer.id, bytes: [0, 10, 255, 104]});

    await page.page.evaluate(() => window.hearthDemo.sendChat('hello aiortc'));
    const got = await peer.until(
        s => s.data.find(d => d.data === 'hello aiortc'), 'the page\'s message at aiortc',
        DATA_WAIT_MS);
    assert.equal(got.from, page.id, 'the message is tagged with the page\'s id');
    assert.equal(peer.last.data.length, 1, 'aiortc does not get its own messages back');
    assert.deepEqual(peer.last.errors, [], 'aiortc reports no error');
}

/* aiortc leaves on stdin EOF: it exits 0 and the page sees its tile go. */
async function checkLeave(page, peer) {
    const {code, last} = await peer.stop();
    assert.equal(code, 0, 'aiortc exits 0 on stdin EOF');
    assert.equal(last && last.closed, true, 'aiortc printed its closing status');
    assert.deepEqual(last.errors, [], 'aiortc reports no error up to its leave');
    await until(
        page.page, id => !document.querySelector(`.tile[data-participant="${id}"]`), peer.id,
        {what: 'aiortc\'s tile removed at the page'});
}

function report(what, f) {
    const rate = x => `${x.frames} frames in ${x.secs.toFixed(1)} s`;
    console.log(
        `      ${what}: first frame decoded ${f.chromiumFirstFrameMs} ms (Chromium) / ${
            f.aiortcFirstFrameMs} ms (aiortc, ${
            f.aiortc.size.join('x')}) after the second joiner ` +
        `started; then Chromium ${rate(f.chromium)}, aiortc ${rate(f.aiortc)}`);
}

export const tests = [
    {
        name: 'Chromium first, then aiortc: each decodes the other\'s video and audio',
        timeoutMs: 120000,
        fn: () => withEnv(async env => {
            const room = 'aiortc-media-1';
            const page = await joinAndPublish(env, 'alice', room);
            await withAiortc(env, room, 'aiortc', async peer => {
                report('chromium first', await checkMedia(page, peer, peer.started));
                await checkLeave(page, peer);
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
                report('aiortc first', await checkMedia(page, peer, t0));
                await checkLeave(page, peer);
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
                await checkData(page, peer);
                await checkLeave(page, peer);
            });
        }),
    },
];

await runIfMain(import.meta.url, tests);
