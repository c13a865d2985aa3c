/*
 * Loss repaired by retransmission: during a two-page call, nftables drops 5 % of the UDP packets
 * hearthd sends from its media port (numgen random mod 100 < 5), for 10 s. Each Chromium
 * subscriber must keep decoding (framesDecoded grows in each half of the window), must have
 * asked for retransmissions (inbound-rtp video nackCount grows) and must see far less loss than
 * 5 % after repair: packetsLost / (packetsReceived + packetsLost) over the window below 1 %.
 * Counters on the rules give the real drop rate, overall and per destination port for packets
 * over 400 bytes (video and RTX), printed with the pages' figures (audio, which has no NACK, shows
 * the raw loss) and the engine's own NACK/RTX counters (HX_ENGINE_DEBUG=1).
 * HEARTH_LOSS_PERCENT=0 runs the same with no loss, to calibrate the counters.
 *
 * The rule lives in the network namespace run.mjs re-executes in (only `lo`), so it touches
 * nothing outside the test. Skipped when that namespace is not there (not root, no unshare,
 * HEARTH_BROWSER_NETNS=0) or nft is missing (apt-get install nftables).
 *
 *   node loss.test.mjs
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';

import {inboundByParticipant, joinDemo, videoFrom} from './call.mjs';
import {Skip, sleep, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const TABLE = 'hxloss';
const LOSS_PERCENT = Number(process.env.HEARTH_LOSS_PERCENT || 5); /* for a diagnosis run */
const WINDOW_MS = 10000;
const MAX_RESIDUAL_LOSS = 0.01;

function nft(...args) {
    const r = spawnSync('nft', args, {encoding: 'utf8'});
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
}

function requireLossSetup() {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0)
        throw new Skip('needs root (nftables in a private network namespace)');
    if (process.env.HEARTH_IN_NETNS !== '1')
        throw new Skip(
            'not in run.mjs\'s private network namespace (no unshare, or ' +
            'HEARTH_BROWSER_NETNS=0): will not add nftables rules to this host');
    const probe = spawnSync('nft', ['--version'], {encoding: 'utf8'});
    if (probe.error || probe.status !== 0)
        throw new Skip('nft not found: apt-get install nftables');
}

/*
 * Drops LOSS_PERCENT % of UDP from `port`. Counted besides: everything sent from it, and per
 * destination port the large packets (over 400 bytes: video and its retransmissions) sent and
 * dropped, to compare with what each page reports as lost.
 */
function addLoss(port) {
    const from = ['udp', 'sport', String(port)];
    const big = [...from, 'meta', 'length', '>', '400'];
    const small = [...from, 'meta', 'length', '<=', '400'];
    const lose = ['numgen', 'random', 'mod', '100', '<', String(LOSS_PERCENT)];
    const set = '{ type inet_service; size 64; flags dynamic; counter; }';
    nft('add', 'table', 'inet', TABLE);
    nft('add', 'chain', 'inet', TABLE, 'o', '{ type filter hook output priority 0; }');
    nft('add', 'set', 'inet', TABLE, 'big', set);
    nft('add', 'set', 'inet', TABLE, 'bigdrop', set);
    nft('add', 'rule', 'inet', TABLE, 'o', ...from, 'counter');
    nft('add', 'rule', 'inet', TABLE, 'o', ...big, 'add', '@big', '{ udp dport }');
    nft('add', 'rule', 'inet', TABLE, 'o', ...big, ...lose, 'add', '@bigdrop', '{ udp dport }',
        'counter', 'drop');
    nft('add', 'rule', 'inet', TABLE, 'o', ...small, ...lose, 'counter', 'drop');
}

/* Packet counters of a dynamic set's elements: {<destination port>: packets}. */
function setCounts(name) {
    const out = {};
    for (const m of nft('list', 'set', 'inet', TABLE, name)
             .matchAll(/(\d+) counter packets (\d+)/g))
        out[m[1]] = Number(m[2]);
    return out;
}

/* {sent, dropped, big: {port: n}, bigDropped: {port: n}} from the rules and sets. */
function lossCounters() {
    const counts =
        [...nft('list', 'chain', 'inet', TABLE, 'o').matchAll(/counter packets (\d+)/g)].map(
            m => Number(m[1]));
    assert.equal(counts.length, 3, 'the nft rules have counters');
    return {
        sent: counts[0],
        dropped: counts[1] + counts[2],
        big: setCounts('big'),
        bigDropped: setCounts('bigdrop')
    };
}

/* The local UDP port of the page's subscriber PC's selected candidate pair. */
function subscriberPort(page) {
    return page.evaluate(async () => {
        const report = await window.hearthDemo.client.subscriberPc.getStats();
        let port = null;
        report.forEach(s => {
            if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
            const pair = report.get(s.selectedCandidatePairId);
            const local = pair && report.get(pair.localCandidateId);
            if (local) port = local.port;
        });
        return port;
    });
}

function removeLoss() {
    spawnSync('nft', ['delete', 'table', 'inet', TABLE], {stdio: 'ignore'});
}

/* The last engine debug lines of each consumer: {nacks, rtx} summed over video consumers. */
function engineNacks(log) {
    const last = new Map();
    for (const m of log.matchAll(/consumer (\S+) mid=\S+ .*nacks=(\d+) rtx=(\d+)/g))
        last.set(m[1], {nacks: Number(m[2]), rtx: Number(m[3])});
    return [...last.values()].reduce(
        (a, c) => ({nacks: a.nacks + c.nacks, rtx: a.rtx + c.rtx}), {nacks: 0, rtx: 0});
}

const delta = (a, b, f) => (b[f] || 0) - (a[f] || 0);

/*
 * mode 'rtx' (hearthd's default, media.retransmit = rtx): retransmissions travel as RTX.
 * Chromium leaves RTX-recovered packets out of its receive statistics, so its packetsLost
 * still counts every repaired packet; what must stay under 1 % is packetsLost minus
 * retransmittedPacketsReceived. mode 'original' (media.retransmit = original): the packet is
 * resent in its own stream, and Chromium's packetsLost itself stays under 1 %.
 */
function lossTest(mode) {
    return async () => {
        requireLossSetup();
        removeLoss();
        const saved = process.env.HEARTHD_ARGS;
        if (mode === 'original')
            process.env.HEARTHD_ARGS = `${saved || ''} --set media.retransmit=original`.trim();
        try {
            return await withEnv(async env => {
                const room = 'browser-loss';
                const alice = await joinDemo(env, 'alice', room);
                const bob = await joinDemo(env, 'bob', room);
                const pairs = [[alice, bob], [bob, alice]];
                for (const [rx, tx] of pairs) await videoFrom(rx.page, tx.id, 30);

                const before = [];
                for (const [rx, tx] of pairs)
                    before.push((await inboundByParticipant(rx.page))[tx.id]);
                addLoss(env.hearthd.mediaPort());
                let counters, mid = [], after = [];
                try {
                    await sleep(WINDOW_MS / 2);
                    for (const [rx, tx] of pairs)
                        mid.push((await inboundByParticipant(rx.page))[tx.id]);
                    await sleep(WINDOW_MS / 2);
                    for (const [rx, tx] of pairs)
                        after.push((await inboundByParticipant(rx.page))[tx.id]);
                    counters = lossCounters();
                } finally {
                    removeLoss();
                }

                const engine = engineNacks(env.hearthd.log());
                console.log(`      nft: ${counters.dropped} of ${counters.sent} packets dropped (${
                    (100 * counters.dropped / counters.sent).toFixed(2)} %); engine: nacks=${
                    engine.nacks} rtx=${engine.rtx}`);

                const ports = [];
                for (const [rx] of pairs) ports.push(await subscriberPort(rx.page));
                const figures = pairs.map(([rx, tx], i) => {
                    const [a, b] = [before[i].video, after[i].video];
                    const [aa, ab] = [before[i].audio, after[i].audio];
                    const f = {
                        audioLost: delta(aa, ab, 'packetsLost'),
                        audioReceived: delta(aa, ab, 'packetsReceived'),
                        frames: delta(a, b, 'framesDecoded'),
                        received: delta(a, b, 'packetsReceived'),
                        lost: delta(a, b, 'packetsLost'),
                        nacks: delta(a, b, 'nackCount'),
                        rtx: delta(a, b, 'retransmittedPacketsReceived'),
                    };
                    f.ratio = f.lost / (f.received + f.lost);
                    f.wireSent = counters.big[ports[i]] || 0;
                    f.wireDropped = counters.bigDropped[ports[i]] || 0;
                    console.log(`      ${rx.name} <- ${tx.name} video: frames +${
                        f.frames}, packets +${f.received}, lost +${f.lost} (${
                        (100 * f.ratio).toFixed(2)} %), nackCount +${f.nacks}, retransmitted +${
                        f.rtx}; nft dropped ${f.wireDropped} of ${
                        f.wireSent} large packets to port ${ports[i]}; audio (no NACK): packets +${
                        f.audioReceived}, lost +${f.audioLost}`);
                    return f;
                });
                assert.ok(counters.sent > 500, `the SFU sent ${counters.sent} packets`);
                assert.ok(counters.dropped > 0, 'the nft rule dropped packets');
                pairs.forEach(([rx, tx], i) => {
                    const [a, m, b] = [before[i].video, mid[i].video, after[i].video];
                    const f = figures[i];
                    const what = `${rx.name} receiving ${tx.name}: ${JSON.stringify({a, m, b})}`;
                    assert.ok(
                        delta(a, m, 'framesDecoded') > 0, `frames decoded, 1st half; ${what}`);
                    assert.ok(
                        delta(m, b, 'framesDecoded') > 0, `frames decoded, 2nd half; ${what}`);
                    assert.ok(f.nacks > 0, `nackCount grows under loss; ${what}`);
                    if (mode === 'rtx') {
                        assert.ok(f.rtx > 0, `retransmissions arrive as RTX; ${what}`);
                        assert.ok((f.lost - f.rtx) / (f.received + f.lost) < MAX_RESIDUAL_LOSS,
                                  `lost minus retransmitted is under ${100 * MAX_RESIDUAL_LOSS} %; ${
                                      what}`);
                        return;
                    }
                    assert.equal(f.rtx, 0, `retransmissions travel in the media stream; ${what}`);
                    assert.ok(
                        f.ratio < MAX_RESIDUAL_LOSS,
                        `packetsLost / (packetsReceived + packetsLost) = ${
                            (100 * f.ratio).toFixed(2)} % is not under ${
                            100 * MAX_RESIDUAL_LOSS} % (nft dropped ${f.wireDropped} of ${
                            f.wireSent} large packets to this page; it NACKed, and received as ` +
                            `RTX, ${f.rtx}: Chromium counts RTX-repaired packets in ` +
                            `packetsLost); ${what}`);
                });
            }, {hearthdEnv: {HX_ENGINE_DEBUG: '1'}});
        } finally {
            if (saved === undefined)
                delete process.env.HEARTHD_ARGS;
            else
                process.env.HEARTHD_ARGS = saved;
        }
    };
}

export const tests = [
    {
        name: '5 % loss on the SFU\'s outgoing packets is repaired by NACK over RTX',
        timeoutMs: 90000,
        fn: lossTest('rtx'),
    },
    {
        name: '5 % loss, media.retransmit = original: Chromium\'s packetsLost stays under 1 %',
        timeoutMs: 90000,
        fn: lossTest('original'),
    },
];

await runIfMain(import.meta.url, tests);
