/*
 * The SDK's `connection-quality` event under real loss: two HearthClients in one Chromium page
 * (alice publishes the fake camera and microphone, bob receives), then nftables drops half of
 * what hearthd sends to bob's subscriber PC (its local UDP port, `numgen random`). bob's quality
 * must go from good to `poor` (loss over 10 %) within 15 s, with the loss it read, and back to
 * `good` within 20 s of the rule's removal; `client.connectionQuality` follows. sdk_package.test.mjs
 * covers the rest (good on loopback, `lost` while resuming).
 *
 * The rule lives in this test's own network namespace (netns.mjs: run.mjs's, or one made for
 * this file); not root: skipped; a tool missing: skipped, or a failure under CI=true.
 *
 *   node sdk_quality.test.mjs
 */
import assert from 'node:assert/strict';
import {fileURLToPath} from 'node:url';

import {until, withEnv} from './harness.mjs';
import {nft, nftDeleteTable, ownNetnsOrRerun} from './netns.mjs';
import {runIfMain} from './runner.mjs';

const TABLE = 'hxquality';
const LOSS_PERCENT = 50;
const thisFile = fileURLToPath(import.meta.url);

/* In the page: alice publishes, bob receives; bob's quality readings are kept. */
async function setUp(room) {
    const {HearthClient} = await import('/sdk/hearth.js');
    const t = window.t = {readings: []};
    for (const user of ['alice', 'bob']) {
        const c = new HearthClient();
        t[user] = c;
        await c.join({ticket: await HearthClient.fetchTicket('', {room, user})});
    }
    t.bob.addEventListener('connection-quality', e => t.readings.push(e.detail));
    /* Chromium decodes remote audio only for a sink */
    t.bob.addEventListener('track', e => {
        const el = document.createElement(e.detail.kind);
        el.autoplay = true;
        el.srcObject = new MediaStream([e.detail.track]);
        document.body.append(el);
    });
    await t.alice.publish(await navigator.mediaDevices.getUserMedia({audio: true, video: true}));
    /* bob's subscriber PC: its selected pair's local port, and the frames it decodes */
    t.sub = async () => {
        const s = (await t.bob.getStats()).subscriber;
        let port = null, protocol = null, frames = 0;
        s.forEach(r => {
            if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
            if (r.type !== 'transport' || !r.selectedCandidatePairId) return;
            const local = s.get(s.get(r.selectedCandidatePairId).localCandidateId);
            port = local.port;
            protocol = local.protocol;
        });
        return {port, protocol, frames};
    };
}

async function qualityUnderLoss() {
    const elsewhere = ownNetnsOrRerun(thisFile);
    if (elsewhere) return elsewhere;
    nftDeleteTable(TABLE);
    try {
        await withEnv(async env => {
            const {page} = await env.openDemo('quality', {publish: '0'});
            await page.evaluate(setUp, 'browser-sdk-quality');
            const sub = await until(page, async () => {
                const s = await window.t.sub();
                return s.frames > 10 && s;
            }, null, {what: 'bob decodes alice'});
            assert.equal(sub.protocol, 'udp', 'bob receives over UDP');
            const readings = () => page.evaluate(() => window.t.readings);
            const good = await until(
                page, () => window.t.bob.connectionQuality?.quality === 'good' &&
                    window.t.bob.connectionQuality,
                null, {what: 'bob\'s quality good before the loss'}).catch(async e => {
                e.message += `; readings: ${JSON.stringify(await readings())}`;
                throw e;
            });

            nft('add', 'table', 'inet', TABLE);
            nft('add', 'chain', 'inet', TABLE, 'o', '{ type filter hook output priority 0; }');
            nft('add', 'rule', 'inet', TABLE, 'o', 'udp', 'dport', String(sub.port), 'numgen',
                'random', 'mod', '100', '<', String(LOSS_PERCENT), 'drop');
            const lossAt = Date.now();
            const poor = await until(
                page, () => window.t.readings.find(r => r.quality === 'poor'), null,
                {timeout: 15000, what: `quality poor with ${LOSS_PERCENT} % of bob's media dropped`});
            const poorMs = Date.now() - lossAt;
            assert.ok(poor.loss >= 0.1, `the poor reading's loss: ${poor.loss}`);
            assert.equal(await page.evaluate(() => window.t.bob.connectionQuality.quality), 'poor');

            nftDeleteTable(TABLE);
            const liftAt = Date.now();
            await until(page, () => window.t.readings.at(-1).quality === 'good', null,
                        {timeout: 20000, what: 'quality good again once the loss is lifted'});
            console.log(`      before: ${JSON.stringify(good)}; poor after ${poorMs} ms: ${
                JSON.stringify(poor)}; good again after ${Date.now() - liftAt} ms; events: ${
                (await readings()).map(r => r.quality).join(' ')}`);
            await page.evaluate(() => Promise.all([window.t.alice.leave(), window.t.bob.leave()]));
        });
    } finally {
        nftDeleteTable(TABLE);
    }
}

export const tests = [{
    name: 'connection-quality: poor while half of the media is dropped, good again after',
    timeoutMs: 120000,
    fn: qualityUnderLoss,
}];

await runIfMain(import.meta.url, tests);
