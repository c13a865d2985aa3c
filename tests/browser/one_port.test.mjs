/*
 * Everything on one TCP port (issue 10; DESIGN §3; docs/connectivity.md "Only 443"): a client
 * whose network lets out nothing but TCP to hearthd's HTTPS port still joins and gets media.
 * hearthd serves https, wss and TURN over TLS on that one port (tls.cert_file,
 * turn.on_http_port); its other TURN listeners are off, so nothing else could carry the call.
 *
 * alice's Chromium runs as uid 65534 in the test's own network namespace (netns.mjs), where
 * nftables drops every packet a uid-65534 socket sends except TCP to that port. She loads the
 * demo over https from that port, joins over wss, and her PeerConnections (no relay-only
 * policy: ICE finds the way by itself) end up on a relay candidate over TLS from the same
 * port. bob, unrestricted, publishes too. Each decodes the other's video; the drop rule counted
 * what alice tried elsewhere (UDP at least), and the accept rule her traffic to the port.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {selectedPair, videoFrom} from './call.mjs';
import {until, withEnv} from './harness.mjs';
import {NOBODY, nft, nftBatch, nftDeleteTable, openNobodyPage, ownNetnsOrRerun} from './netns.mjs';
import {runIfMain} from './runner.mjs';
import {makeCert} from './tls.mjs';

const TABLE = 'hxoneport';
const thisFile = fileURLToPath(import.meta.url);

/* alice (uid 65534) may send TCP to `port` and nothing else; both rules count. */
function restrict(port) {
    nftDeleteTable(TABLE);
    nftBatch(`add table inet ${TABLE}
add chain inet ${TABLE} o { type filter hook output priority 0; }
add rule inet ${TABLE} o meta skuid ${NOBODY} tcp dport ${port} counter accept comment "allowed"
add rule inet ${TABLE} o meta skuid ${NOBODY} counter drop comment "dropped"
`);
}

function counters() {
    const out = {};
    for (const m of nft('list', 'chain', 'inet', TABLE, 'o')
             .matchAll(/counter packets (\d+) bytes \d+ (?:accept|drop) comment "([^"]+)"/g))
        out[m[2]] = Number(m[1]);
    return out;
}

async function joined(p) {
    await until(p.page, () => !!(window.hearthDemo.client &&
                                 window.hearthDemo.client.state === 'joined' &&
                                 window.hearthDemo.published),
                null, {timeout: 30000, what: `${p.name} joined and publishing`});
    p.id = await p.page.evaluate(() => window.hearthDemo.client.participantId);
    return p;
}

async function onePort() {
    const elsewhere = ownNetnsOrRerun(thisFile);
    if (elsewhere) return elsewhere;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-one-port-'));
    try {
        const tls = makeCert(dir);
        await withEnv(async env => {
            const port = env.hearthd.port;
            restrict(port);
            const room = 'one-port';
            const alice = await openNobodyPage('alice', {args: [tls.spkiFlag]});
            try {
                await alice.page.goto(env.demoUrl({room, user: 'alice', autojoin: '1'}));
                await alice.page.waitForFunction(() => window.hearthDemo !== undefined, null,
                                                 {timeout: 10000});
                assert.ok(alice.page.url().startsWith(`https://127.0.0.1:${port}/`),
                          `alice's page came over https from port ${port}`);
                await joined(alice);
                const bob = await joined(await env.openDemo(
                    'bob', {room, user: 'bob', autojoin: '1'}, {args: [tls.spkiFlag]}));
                await videoFrom(alice.page, bob.id);
                await videoFrom(bob.page, alice.id);
                const pair = await selectedPair(alice.page);
                assert.ok(pair && pair.localType === 'relay' && pair.relayProtocol === 'tls',
                          `alice receives through TURN over TLS: ${JSON.stringify(pair)}`);
                assert.equal(pair.url, `turns:127.0.0.1:${port}?transport=tcp`,
                             'through the HTTPS port');
                const signal = await alice.page.evaluate(() => window.hearthDemo.client._signalUrl);
                assert.ok(signal.startsWith(`wss://127.0.0.1:${port}/`),
                          `alice signals over wss on the port: ${signal}`);
                const c = counters();
                assert.ok(c.allowed > 0, `alice's TCP to ${port} went out (${c.allowed} packets)`);
                assert.ok(c.dropped > 0, `and what she tried elsewhere was dropped (${c.dropped})`);
                console.log(`      alice: ${c.allowed} packets to ${port}, ${c.dropped} dropped`);
            } finally {
                await alice.close();
                nftDeleteTable(TABLE);
            }
        }, {tls, hearthdArgs: ['--set', 'turn.udp_port=-1', '--set', 'turn.tcp_port=-1',
                               '--set', 'turn.tls_port=-1']});
    } finally {
        fs.rmSync(dir, {recursive: true, force: true});
    }
}

export const tests = [{
    name: 'only TCP to one port: https, wss and TURN over TLS on it carry the call',
    timeoutMs: 120000,
    fn: onePort,
}];

await runIfMain(import.meta.url, tests);
