/*
 * A Python WebRTC peer as a child process of a browser test: aiortc_client.py and gst_client.py
 * (both hearth_peer.py clients) print one JSON status line per second on stdout, take one JSON
 * command per stdin line, log to stderr and leave cleanly on stdin EOF. startPeer() runs one and
 * gives the test its status, a way to wait on it, to command it and to stop it; startAiortc()
 * (aiortc.test.mjs) and startGst() (gstreamer.test.mjs) are built on it. checkMedia(),
 * checkData() and checkLeave() are what those tests check between such a peer and a Chromium
 * demo page.
 *
 * HEARTH_PYTHON names the interpreter (default /usr/bin/python3, which has Debian's modules);
 * HEARTH_KEEP_LOGS=1 prints a peer's stderr when it stops.
 */
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';

import {sleep, until} from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PYTHON = process.env.HEARTH_PYTHON || '/usr/bin/python3';

/**
 * Starts tests/browser/`script` against env's hearthd in `room` as `user`, with the flags in the
 * environment variable `argsEnv` (split on spaces), then `more`. Resolves once it has joined,
 * with {name, id, proc, started, last (the last status line), stderr, exit, until(pred, what,
 * timeout), send(cmd), tail(n), stop()}; kills it when it does not join. `label` names it in
 * errors and heads its stderr tail ("--- label stderr ---"); the last `keep` stderr lines are
 * kept, `tailLines` of them shown by tail(); `waitMs` is until()'s default timeout.
 */
export async function startPeer(env, room, user,
                                {script, label, argsEnv, more = [], keep, tailLines, waitMs}) {
    const extra = [...(process.env[argsEnv] || '').split(' ').filter(Boolean), ...more];
    const args = [
        path.join(here, script), '--server', env.hearthd.base, '--room', room, '--user', user,
        ...extra
    ];
    const proc = spawn(PYTHON, args, {stdio: ['pipe', 'pipe', 'pipe']});
    const running = () => proc.exitCode === null && proc.signalCode === null;
    const peer = {
        name: user,
        label,
        proc,
        started: Date.now(),
        last: null,
        stderr: [],
        exit: new Promise(r => proc.once('exit', (code, sig) => r({code, sig}))),
    };
    readline.createInterface({input: proc.stderr}).on('line', l => {
        peer.stderr.push(l);
        if (peer.stderr.length > keep) peer.stderr.shift();
    });
    readline.createInterface({input: proc.stdout}).on('line', l => {
        try {
            peer.last = JSON.parse(l);
        } catch {
            peer.stderr.push(`(stdout) ${l}`);
        }
    });
    /* Waits until pred(status) is truthy; returns its value or throws naming `what`. */
    peer.until = async (pred, what, timeout = waitMs) => {
        const deadline = Date.now() + timeout;
        for (;;) {
            const v = peer.last && pred(peer.last);
            if (v) return v;
            if (!running())
                throw new Error(`${label} exited (${proc.exitCode ?? proc.signalCode}) while ` +
                                `waiting for ${what}\n${peer.tail()}`);
            if (Date.now() > deadline)
                throw new Error(`${label}: timed out after ${timeout} ms waiting for ${
                    what} (its errors: ${JSON.stringify(peer.last && peer.last.errors)}; last ` +
                                `status: ${JSON.stringify(peer.last)})\n${peer.tail()}`);
            await sleep(100);
        }
    };
    peer.send = cmd => proc.stdin.write(JSON.stringify(cmd) + '\n');
    peer.tail = (n = tailLines) => `--- ${label} stderr ---\n${peer.stderr.slice(-n).join('\n')}`;
    /* Ends it the clean way (stdin EOF); resolves with the exit status and the last status. */
    peer.stop = async () => {
        if (running()) proc.stdin.end();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
        const r = await peer.exit;
        clearTimeout(timer);
        if (process.env.HEARTH_KEEP_LOGS === '1') console.log(peer.tail(keep));
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

/* Runs fn(peer); always stops the peer, and adds its stderr to a failure. */
export async function withPeer(peer, fn) {
    try {
        return await fn(peer);
    } catch (e) {
        if (!e.message.includes(`--- ${peer.label} stderr ---`)) e.message += `\n${peer.tail()}`;
        throw e;
    } finally {
        await peer.stop();
    }
}

/* ---- checks between a Chromium demo page and a peer ------------------------------------------ */

/*
 * `stack` says what differs between the peers' tests: {who (the peer's name in messages), waitMs
 * (how long media may take), clean(status, when) (asserts the peer's status shows nothing wrong;
 * `when` qualifies the message), audioGrowth and audioUnit (how far the peer's audio count must
 * grow past its first media, and what it counts), checkPage(page, peer, stats) (more checks of
 * the page's view of the peer), checkStatus(status, page) (more checks of the peer's own view),
 * explainDataChannel(e, dc) (adds a diagnosis when the peer's data channel does not open)}.
 */

const DATA_WAIT_MS = 10000;

/* The page's view of participant `from`: {framesDecoded, totalSamplesReceived} once both reach
 * the minimums. */
export function pageMedia(page, from, minFrames, minSamples, what, timeout) {
    return until(page, async ([id, f, a]) => {
        const s = (await window.hearthDemo.stats())[id];
        return s && s.framesDecoded >= f && s.totalSamplesReceived >= a ? s : null;
    }, [from, minFrames, minSamples], {timeout, what});
}

/*
 * Both directions of media between `page` and `peer`; returns timing figures: {chromiumFirstMs,
 * peerFirstMs (after t0), chromium: {frames, secs}, peer: {frames, samples, size, secs}}.
 */
export async function checkMedia(page, peer, t0, stack) {
    const {who, waitMs} = stack;
    const stamp = p => p.then(s => ({s, ms: Date.now() - t0}));
    /* both first frames are awaited at once, so each figure is its own */
    const [c1, p1] = await Promise.all([
        stamp(pageMedia(
            page.page, peer.id, 1, 1,
            `Chromium decoding ${who}'s video and receiving its audio (participant ${peer.id})`,
            waitMs)),
        stamp(peer.until(
            s => (s.frames[page.id] || 0) >= 1 && (s.audio[page.id] || 0) >= 1 && s,
            `${who} decoding Chromium's video and audio (participant ${page.id})`)),
    ]);
    const figures = {chromiumFirstMs: c1.ms, peerFirstMs: p1.ms};
    const since = Date.now();
    await sleep(2000);

    const c2 = await pageMedia(
        page.page, peer.id, c1.s.framesDecoded + 10, c1.s.totalSamplesReceived + 1,
        `Chromium's framesDecoded and totalSamplesReceived for ${who} to keep growing`, waitMs);
    if (stack.checkPage) await stack.checkPage(page, peer, c2);
    const tile = await page.page.evaluate(id => {
        const t = document.querySelector(`.tile[data-participant="${id}"]`);
        return t && {
            label: t.querySelector('figcaption').textContent,
            width: t.querySelector('video').videoWidth,
            height: t.querySelector('video').videoHeight
        };
    }, peer.id);
    assert.ok(tile, `the page has a tile for ${who}`);
    assert.equal(tile.label, peer.name, `the tile is labelled with ${who}'s user`);
    assert.deepEqual([tile.width, tile.height], [320, 240], `the page renders ${who}'s 320x240`);

    const n = p1.s.frames[page.id], m = p1.s.audio[page.id];
    const p2 = await peer.until(
        s => s.frames[page.id] >= n + 10 && s.audio[page.id] > m + (stack.audioGrowth || 0) && s,
        `${who}'s video frame and audio ${stack.audioUnit} counts for Chromium to keep growing`);
    const secs = (Date.now() - since) / 1000;
    figures.chromium = {frames: c2.framesDecoded - c1.s.framesDecoded, secs};
    figures.peer = {
        frames: p2.frames[page.id] - n,
        samples: p2.audio[page.id] - m,
        size: p2.sizes[page.id],
        secs
    };
    assert.ok(p2.sizes[page.id] && p2.sizes[page.id][0] > 0, `${who} decoded frames with a size`);
    assert.deepEqual(Object.keys(p2.frames), [page.id], `${who} gets video from the page only`);
    if (stack.checkStatus) stack.checkStatus(p2, page);
    stack.clean(p2);
    return figures;
}

/* Data channel messages both ways between `page` and `peer`. */
export async function checkData(page, peer, stack) {
    const {who} = stack;
    await until(
        page.page, () => window.hearthDemo.dataOpen, null, {what: 'the page\'s data channel'});
    await peer
        .until(s => s.data_open, `${who}'s publisher data channel "hearth" to open`, DATA_WAIT_MS)
        .catch(e => {
            throw stack.explainDataChannel ? stack.explainDataChannel(e, peer.last && peer.last.dc) :
                                             e;
        });

    peer.send({send: `hello from ${who}`});
    const text = await until(
        page.page, t => window.hearthDemo.messages.find(m => m.data === t) || null,
        `hello from ${who}`, {timeout: DATA_WAIT_MS, what: `${who}'s text message at the page`});
    assert.equal(text.from, peer.id, `the text is tagged with ${who}'s id`);

    peer.send({send_hex: '000aff68'});
    const bin = await until(page.page, () => {
        const m = window.hearthDemo.messages.find(x => x.data instanceof ArrayBuffer);
        return m && {from: m.from, bytes: [...new Uint8Array(m.data)]};
    }, null, {timeout: DATA_WAIT_MS, what: `${who}'s binary message at the page`});
    assert.deepEqual(bin, {from: peer.id, bytes: [0, 10, 255, 104]});

    await page.page.evaluate(t => window.hearthDemo.sendChat(t), `hello ${who}`);
    const got = await peer.until(
        s => s.data.find(d => d.data === `hello ${who}`), `the page's message at ${who}`,
        DATA_WAIT_MS);
    assert.equal(got.from, page.id, 'the message is tagged with the page\'s id');
    assert.equal(peer.last.data.length, 1, `${who} does not get its own messages back`);
    stack.clean(peer.last);
}

/* The peer leaves on stdin EOF: it exits 0 and the page sees its tile go. */
export async function checkLeave(page, peer, stack) {
    const {who} = stack;
    const {code, last} = await peer.stop();
    assert.equal(code, 0, `${who} exits 0 on stdin EOF`);
    assert.equal(last && last.closed, true, `${who} printed its closing status`);
    stack.clean(last, ' up to its leave');
    await until(
        page.page, id => !document.querySelector(`.tile[data-participant="${id}"]`), peer.id,
        {what: `${who}'s tile removed at the page`});
}
