/*
 * Passive ICE-TCP (RFC 6544): with every UDP packet dropped in the test's network namespace
 * (nftables), two Chromium pages still reach hearthd over its `tcptype passive` candidate and
 * decode each other's video; the selected candidate pair of each subscriber PC is TCP.
 *
 * Needs the runner's own network namespace (root, unshare) and nft: without them it fails with
 * the reason, since blocking UDP outside a private namespace would touch the host.
 */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';

import {Skip, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

function nft(...args) {
    execFileSync('nft', args, {stdio: 'pipe'});
}

async function selectedProtocol(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        let pair = null;
        const local = new Map();
        s.subscriber.forEach(r => {
            if (r.type === 'transport' && r.selectedCandidatePairId) pair = r.selectedCandidatePairId;
            if (r.type === 'local-candidate') local.set(r.id, r.protocol);
        });
        let proto = null;
        s.subscriber.forEach(r => {
            if (r.id === pair) proto = local.get(r.localCandidateId);
        });
        return proto;
    });
}

export const tests = [
    {
        name: 'UDP blocked: media over passive ICE-TCP',
        timeoutMs: 120000,
        fn: async () => {
            if (process.env.HEARTH_IN_NETNS !== '1')
                throw new Skip('needs the runner\'s own network namespace (root and unshare)');
            nft('add', 'table', 'inet', 'hxtcp');
            nft('add', 'chain', 'inet', 'hxtcp', 'o', '{ type filter hook output priority 0; }');
            nft('add', 'rule', 'inet', 'hxtcp', 'o', 'meta', 'l4proto', 'udp', 'drop');
            try {
                await withEnv(async env => {
                    const pages = [];
                    for (const name of ['alice', 'bob']) {
                        const p = await env.openDemo(name, {room: 'tcp', user: name, autojoin: '1'});
                        await until(p.page, () => window.hearthDemo.client &&
                                        window.hearthDemo.client.state === 'joined',
                                    null, {what: `${name} joined`});
                        p.id = await p.page.evaluate(() => window.hearthDemo.client.participantId);
                        pages.push(p);
                    }
                    const [alice, bob] = pages;
                    for (const [rx, tx] of [[alice, bob], [bob, alice]]) {
                        const s = await until(rx.page, async id => {
                            const st = (await window.hearthDemo.stats())[id];
                            return st && st.framesDecoded > 5 && st;
                        }, tx.id, {timeout: 30000, what: `${rx.name} decodes ${tx.name} over TCP`});
                        assert.ok(s.framesDecoded > 5);
                        assert.equal(await selectedProtocol(rx.page), 'tcp',
                                     `${rx.name}'s subscriber PC runs over TCP`);
                    }
                });
            } finally {
                nft('delete', 'table', 'inet', 'hxtcp');
            }
        },
    },
];

await runIfMain(import.meta.url, tests);
