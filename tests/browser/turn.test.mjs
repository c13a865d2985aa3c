/*
 * Media through TURN only (`iceTransportPolicy: 'relay'`): two Chromium pages join one room
 * with the ICE servers hearthd hands out and decode each other's video, and each subscriber
 * PC's selected candidate pair is local `relay` — through a real coturn sharing hearth's secret
 * (turn.mode = external).
 */
import assert from 'node:assert/strict';

import {Coturn} from './coturn.mjs';
import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const SECRET = 'browser-turn-secret-0123456789';

/* The subscriber PC's selected pair: {localType, protocol, relayProtocol, url}. */
async function selectedPair(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        let pair = null;
        const local = new Map();
        s.subscriber.forEach(r => {
            if (r.type === 'transport' && r.selectedCandidatePairId) pair = r.selectedCandidatePairId;
            if (r.type === 'local-candidate') local.set(r.id, r);
        });
        let out = null;
        s.subscriber.forEach(r => {
            if (r.id !== pair) return;
            const c = local.get(r.localCandidateId) || {};
            out = {localType: c.candidateType, protocol: c.protocol,
                   relayProtocol: c.relayProtocol, url: c.url};
        });
        return out;
    });
}

/* Two relay-only pages in one room decode each other; returns their selected pairs. */
async function relayCall(env, room, params = {}) {
    const pages = [];
    for (const name of ['alice', 'bob']) {
        const p = await env.openDemo(name, {room, user: name, autojoin: '1', relay: '1', ...params});
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
    return pairs;
}

export const tests = [
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
