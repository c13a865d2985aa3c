/*
 * Media through TURN only (`iceTransportPolicy: 'relay'`): two Chromium pages join one room
 * with the ICE servers hearthd hands out and decode each other's video, and each subscriber
 * PC's selected candidate pair is local `relay`:
 * - through hearthd's embedded TURN server, once over each of its listeners (UDP, TCP, TLS:
 *   the page keeps only that kind of URL, and the relay candidate's relayProtocol says which);
 *   the TLS listener (its own port here; one_port.test.mjs runs TURN over TLS on the https
 *   port) uses the test's own certificate, which Chromium is told to trust;
 * - through a real coturn sharing hearth's secret (turn.mode = external).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {selectedPair} from './call.mjs';
import {Coturn} from './coturn.mjs';
import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';
import {makeCert} from './tls.mjs';

const SECRET = 'browser-turn-secret-0123456789';

/* Two relay-only pages in one room decode each other; returns their selected pairs. */
async function relayCall(env, room, params = {}, {args = []} = {}) {
    const pages = [];
    for (const name of ['alice', 'bob']) {
        const p = await env.openDemo(name, {room, user: name, autojoin: '1', relay: '1', ...params},
                                     {args});
        await until(p.page, () => window.hearthDemo.client &&
                        window.hearthDemo.client.state === 'joined', null, {what: `${name} joined`});
        p.id = await p.page.evaluate(() => window.hearthDemo.client.participantId);
        pages.push(p);
    }
    const [alice, bob] = pages, pairs = {};
    for (const [rx, tx] of [[alice, bob], [bob, alice]]) {
        const st = await until(rx.page, async id => {
            const s = (await window.hearthDemo.stats())[id];
            return s && s.framesDecoded > 5 && s;
        }, tx.id, {timeout: 30000, what: `${rx.name} decodes ${tx.name} through TURN`});
        assert.ok(st.framesDecoded > 5);
        pairs[rx.name] = await selectedPair(rx.page);
        assert.equal(pairs[rx.name] && pairs[rx.name].localType, 'relay',
                     `${rx.name}'s subscriber PC runs over a relay candidate: ${
                         JSON.stringify(pairs[rx.name])}`);
    }
    await Promise.all(pages.map(p => p.close())); /* two Chromiums at a time on two cores */
    return pairs;
}

export const tests = [
    {
        name: 'relay only through the embedded TURN server: UDP, TCP and TLS',
        timeoutMs: 150000,
        fn: async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-turn-tls-'));
            try {
                const tls = makeCert(dir);
                await withEnv(async env => {
                    for (const kind of ['udp', 'tcp', 'tls']) {
                        const pairs = await relayCall(env, `embedded-${kind}`, {turn: kind},
                                                      {args: [tls.spkiFlag]});
                        for (const [who, p] of Object.entries(pairs))
                            assert.equal(p.relayProtocol, kind,
                                         `${who} relays over ${kind}: ${JSON.stringify(p)}`);
                    }
                }, {tls, hearthdArgs: ['--set', 'turn.on_http_port=false']}); /* TLS: its own port */
            } finally {
                fs.rmSync(dir, {recursive: true, force: true});
            }
        },
    },
    {
        name: 'relay only through coturn (turn.mode = external) with hearth\'s credentials',
        timeoutMs: 90000,
        fn: async () => {
            const coturn = await new Coturn(SECRET).start();
            try {
                const url = `turn:127.0.0.1:${coturn.port}?transport=udp`;
                await withEnv(async env => {
                    const pairs = await relayCall(env, 'coturn');
                    for (const p of Object.values(pairs))
                        assert.equal(p.url, url, 'the relay candidate comes from the coturn');
                }, {hearthdArgs: ['--set', 'turn.mode=external', '--set', `turn.urls=${url}`,
                                  '--set', `turn.secrets=${SECRET}`]});
            } catch (e) {
                e.message += `\n--- coturn log ---\n${coturn.logTail()}`;
                throw e;
            } finally {
                await coturn.stop();
            }
        },
    },
];

await runIfMain(import.meta.url, tests);
