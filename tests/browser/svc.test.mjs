/*
 * SVC through hearthd, VP9 and AV1: alice publishes her camera with three spatial layers in one
 * stream (scalabilityMode L3T3, the SDK's publish {svc, codec}), bob and carol receive it. AV1's
 * layers are told by the dependency descriptor extension, which hearth reads and forwards. By default
 * a subscriber gets every spatial layer and decodes the top resolution; bob asks for the low
 * spatial layer (`track.layer` q) and decodes a quarter of the width, then the middle one (h,
 * half) and the top again (f), his picture frozen under 2 s in all across the switches, while
 * carol keeps the top layer throughout. The server names the spatial layer he receives and its
 * size (track.receiving, the size from the keyframes' scalability structure or the descriptor's
 * template structure).
 */
import assert from 'node:assert/strict';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

async function inbound(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        let v = null, mime = null;
        s.subscriber.forEach(r => {
            if (r.type === 'inbound-rtp' && r.kind === 'video')
                v = {width: r.frameWidth || 0, frames: r.framesDecoded || 0, codec: r.codecId,
                     freezes: r.freezeCount || 0, frozen: r.totalFreezesDuration || 0};
        });
        s.subscriber.forEach(r => {
            if (v && r.id === v.codec) mime = r.mimeType;
        });
        return v && {...v, mime};
    });
}

/* The width alice encodes her top spatial layer at now (Chromium may lower it under load). */
async function sending(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        let w = 0;
        s.publisher.forEach(r => {
            if (r.type === 'outbound-rtp' && r.kind === 'video') w = r.frameWidth || 0;
        });
        return w;
    });
}

/* Waits until `sub` decodes 1/div of the width alice sends (div 4: q, 2: h, 1: f), however her
 * encoder adapts meanwhile; returns {width, top}. */
async function decodingAt(sub, alice, div, what, timeoutMs = 20000) {
    const end = Date.now() + timeoutMs;
    let last = null;
    while (Date.now() < end) {
        const top = await sending(alice);
        const v = await inbound(sub);
        last = {width: v && v.width, top};
        if (v && v.frames > 5 && top && Math.abs(v.width * div - top) <= div) return last;
        await new Promise(r => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

function svcCase(codec, camera) {
    return withEnv(async env => {
            const alice = await env.openDemo('alice', {
                room: 'svc', user: 'alice', autojoin: '1', svc: 'L3T3', codec, camera});
            const bob =
                await env.openDemo('bob', {room: 'svc', user: 'bob', autojoin: '1', publish: '0'});
            const carol = await env.openDemo(
                'carol', {room: 'svc', user: 'carol', autojoin: '1', publish: '0'});
            const sent = await until(alice.page, async () => {
                const s = await window.hearthDemo.client.getStats();
                let v = null;
                s.publisher.forEach(r => {
                    if (r.type === 'outbound-rtp' && r.kind === 'video' && r.framesEncoded > 10)
                        v = {width: r.frameWidth, mode: r.scalabilityMode};
                });
                return v;
            }, null, {timeout: 20000, what: 'alice encoding'});
            console.log(`      alice sends ${sent.width} px wide, ${sent.mode}`);
            assert.equal(sent.mode, 'L3T3', 'alice encodes L3T3');
            const {width: top} = await decodingAt(bob.page, alice.page, 1, 'bob decoding the top layer');
            const b = await inbound(bob.page);
            assert.equal(b.mime.toLowerCase(), `video/${codec.toLowerCase()}`, `bob receives ${codec}`);
            console.log(`      bob decodes ${top} px wide by default`);
            const track = await bob.page.evaluate(
                () => [...window.hearthDemo.client.tracks.values()].find(t => t.kind === 'video').id);
            await bob.page.evaluate(t => window.hearthDemo.client.setLayer(t, 'q'), track);
            const low = await decodingAt(bob.page, alice.page, 4, 'bob at the low layer');
            console.log(`      bob asks for q: ${low.width} px wide (alice: ${low.top})`);
            /* the server names q and its size from the SS: the size bob decodes */
            const told = await until(bob.page, async t => {
                const x = window.hearthDemo.client.receiving.get(t);
                const s = await window.hearthDemo.client.getStats();
                let w = 0;
                s.subscriber.forEach(r => {
                    if (r.type === 'inbound-rtp' && r.kind === 'video') w = r.frameWidth || 0;
                });
                return x && x.rid === 'q' && x.width === w && x;
            }, track, {timeout: 5000, what: 'track.receiving naming q at the size bob decodes'});
            console.log(`      track.receiving: ${told.rid} ${told.width}x${told.height}`);
            const before = await inbound(bob.page);
            await new Promise(r => setTimeout(r, 2000));
            const after = await inbound(bob.page);
            assert.ok(after.frames > before.frames + 20, `bob keeps decoding at q (${after.frames - before.frames} frames in 2 s)`);
            assert.ok(after.width * 4 <= await sending(alice.page), `bob stays at q (${after.width} px)`);
            await bob.page.evaluate(t => window.hearthDemo.client.setLayer(t, 'h'), track);
            const mid = await decodingAt(bob.page, alice.page, 2, 'bob at the middle layer');
            console.log(`      bob asks for h: ${mid.width} px wide (alice: ${mid.top})`);
            await bob.page.evaluate(t => window.hearthDemo.client.setLayer(t, 'f'), track);
            const back = await decodingAt(bob.page, alice.page, 1, 'bob back at the top layer');
            console.log(`      bob asks for f: ${back.width} px wide`);
            const end = await inbound(bob.page);
            console.log(`      bob: ${end.freezes} freezes, ${end.frozen.toFixed(2)} s frozen in all`);
            /* Chromium counts a freeze from ~150 ms past the usual frame interval; a switch that
             * waited for a keyframe that never came would freeze for seconds. */
            assert.ok(end.frozen < 2, `bob's picture froze under 2 s in all across three switches (${end.frozen} s)`);
            await decodingAt(carol.page, alice.page, 1, 'carol at the top layer', 5000);
    });
}

export const tests = [
    {
        name: 'a VP9 SVC subscriber decodes the spatial layer it asks for',
        timeoutMs: 120000,
        fn: () => svcCase('VP9', '1280x720'),
    },
    {
        /* Chromium keeps three AV1 spatial layers only from 720p up (640x360 becomes L2T3). */
        name: 'an AV1 SVC subscriber decodes the spatial layer it asks for',
        timeoutMs: 120000,
        fn: () => svcCase('AV1', '1280x720'),
    },
];

await runIfMain(import.meta.url, tests);
