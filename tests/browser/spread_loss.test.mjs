/*
 * Loss on the relay between two media workers, repaired (issue 13, sfu/relay.h NACK frames):
 * hearthd with two worker processes and media.split_subscribers = 1, alice publishing on the
 * room's home (worker 0, where her own subscriber goes too), bob subscribing on worker 1, fed by
 * the relay. nftables drops 5 % of the UDP worker 0 sends to worker 1 (the relay's frames alone:
 * `udp sport <worker 0> udp dport <worker 1>`, numgen random mod 100 < 5) for 10 s. The mirror on
 * worker 1 asks the home for what it lost (NACK frames) and the home resends it from its cache, so
 * bob keeps decoding alice's video and loses under 1 % of it (packetsLost over the window, with
 * the drops the rule counted printed beside it). Audio has no retransmission: what the relay
 * loses of it is lost, as over any link.
 *
 * In a network namespace of its own (only `lo`): the rule touches nothing outside the test.
 *
 *   node spread_loss.test.mjs
 */
import assert from 'node:assert/strict';
import {fileURLToPath} from 'node:url';

import {inboundByParticipant, videoFrom, workerPorts} from './call.mjs';
import {sleep, withEnv} from './harness.mjs';
import {joinAndPublish} from './media.test.mjs';
import {nft, nftDeleteTable, ownNetnsOrRerun} from './netns.mjs';
import {runIfMain} from './runner.mjs';

const thisFile = fileURLToPath(import.meta.url);
const TABLE = 'hxrelayloss';
const LOSS_PERCENT = Number(process.env.HEARTH_LOSS_PERCENT || 5);
const WINDOW_MS = 10000;

function addLoss(from, to) {
    nft('add', 'table', 'inet', TABLE);
    nft('add', 'chain', 'inet', TABLE, 'o', '{ type filter hook output priority 0; }');
    const path = ['udp', 'sport', String(from), 'udp', 'dport', String(to)];
    nft('add', 'rule', 'inet', TABLE, 'o', ...path, 'counter');
    nft('add', 'rule', 'inet', TABLE, 'o', ...path, 'numgen', 'random', 'mod', '100', '<',
        String(LOSS_PERCENT), 'counter', 'drop');
}

/* [relay frames sent, dropped] from the rules' counters. */
function counters() {
    const c = [...nft('list', 'chain', 'inet', TABLE, 'o').matchAll(/counter packets (\d+)/g)].map(
        m => Number(m[1]));
    assert.equal(c.length, 2, 'the nft rules have counters');
    return c;
}

async function relayLoss() {
    const elsewhere = ownNetnsOrRerun(thisFile);
    if (elsewhere) return elsewhere;
    nftDeleteTable(TABLE);
    try {
        return await withEnv(async env => {
            const ports = workerPorts(env.hearthd.log());
            assert.deepEqual(Object.keys(ports).sort(), ['0', '1'], 'two workers started');
            const room = 'relay-loss';
            const alice = await joinAndPublish(env, 'alice', room);
            const aliceId = alice.id;
            const bob = await env.openDemo('bob', {room, user: 'bob', autojoin: '1', publish: '0'});
            await videoFrom(bob.page, aliceId, 30);

            addLoss(ports[0], ports[1]);
            const before = (await inboundByParticipant(bob.page))[aliceId].video;
            const [sent0, dropped0] = counters();
            await sleep(WINDOW_MS / 2);
            const mid = (await inboundByParticipant(bob.page))[aliceId].video;
            await sleep(WINDOW_MS / 2);
            const after = (await inboundByParticipant(bob.page))[aliceId].video;
            const [sent1, dropped1] = counters();
            nftDeleteTable(TABLE);

            const sent = sent1 - sent0, dropped = dropped1 - dropped0;
            const received = after.packetsReceived - before.packetsReceived;
            const lost = Math.max(0, after.packetsLost - before.packetsLost);
            console.log(`  relay worker 0 -> 1: ${dropped} of ${sent} frames dropped (${
                (100 * dropped / Math.max(1, sent)).toFixed(2)} %); bob's video from alice: ${
                lost} of ${received + lost} lost (${(100 * lost / Math.max(1, received + lost)).toFixed(2)} %), ${
                after.framesDecoded - before.framesDecoded} frames decoded`);
            assert.ok(LOSS_PERCENT === 0 || dropped > 0.02 * sent,
                      `the rule dropped relay frames (${dropped} of ${sent})`);
            assert.ok(mid.framesDecoded > before.framesDecoded && after.framesDecoded > mid.framesDecoded,
                      'bob keeps decoding in each half of the window');
            assert.ok(received > 200, `bob received alice's video through the relay (${received})`);
            assert.ok(lost / (received + lost) < 0.01,
                      `bob loses < 1 % of alice's video (${lost} of ${received + lost})`);
        }, {hearthdArgs: ['--set', 'media.workers=2', '--set', 'media.isolation=process',
                          '--set', 'media.split_subscribers=1']});
    } finally {
        nftDeleteTable(TABLE);
    }
}

export const tests = [
    {
        name: 'the relay between two workers loses 5 %: the mirror\'s NACKs repair it',
        timeoutMs: 120000,
        fn: relayLoss,
    },
];

await runIfMain(import.meta.url, tests);
