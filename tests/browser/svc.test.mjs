/*
 * VP9 SVC through hearthd: alice publishes her camera as VP9 with three spatial layers in one
 * stream (scalabilityMode L3T3, the SDK's publish {svc}), bob and carol receive it. By default
 * a subscriber gets every spatial layer and decodes the top resolution; bob asks for the low
 * spatial layer (`track.layer` q) and decodes a quarter of the width, then the middle one (h,
 * half) and the top again (f), his picture never frozen for a second across the switches, while
 * carol keeps the top layer throughout.
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

/* Waits until the page decodes video whose width is within [min, max]; returns the width. */
async function decodingAt(page, [min, max], what) {
    return until(page, async ([min, max]) => {
        const s = await window.hearthDemo.client.getStats();
        let v = null;
        s.subscriber.forEach(r => {
            if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 5)
                v = r.frameWidth;
        });
        return v && v >= min && v <= max && v;
    }, [min, max], {timeout: 20000, what});
}

export const tests = [
    {
        name: 'a VP9 SVC subscriber decodes the spatial layer it asks for',
        timeoutMs: 120000,
        fn: () => withEnv(async env => {
            const alice = await env.openDemo('alice', {
                room: 'svc', user: 'alice', autojoin: '1', svc: 'L3T3', camera: '1280x720'});
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
            const top = await decodingAt(bob.page, [1, 1e6], 'bob decoding alice');
            const b = await inbound(bob.page);
            assert.equal(b.mime.toLowerCase(), 'video/vp9', 'bob receives VP9');
            console.log(`      bob decodes ${top} px wide by default`);
            const track = await bob.page.evaluate(
                () => [...window.hearthDemo.client.tracks.values()].find(t => t.kind === 'video').id);
            await bob.page.evaluate(t => window.hearthDemo.client.setLayer(t, 'q'), track);
            const low = await decodingAt(bob.page, [1, top / 4], 'bob at the low layer');
            console.log(`      bob asks for q: ${low} px wide`);
            const before = await inbound(bob.page);
            await new Promise(r => setTimeout(r, 2000));
            const after = await inbound(bob.page);
            assert.ok(after.frames > before.frames + 20, `bob keeps decoding at q (${after.frames - before.frames} frames in 2 s)`);
            assert.ok(after.width * 4 <= top, `bob stays at q (${after.width} px)`);
            await bob.page.evaluate(t => window.hearthDemo.client.setLayer(t, 'h'), track);
            const mid = await decodingAt(bob.page, [top / 2, top / 2], 'bob at the middle layer');
            console.log(`      bob asks for h: ${mid} px wide`);
            await bob.page.evaluate(t => window.hearthDemo.client.setLayer(t, 'f'), track);
            const back = await decodingAt(bob.page, [top, top], 'bob back at the top layer');
            console.log(`      bob asks for f: ${back} px wide`);
            const end = await inbound(bob.page);
            console.log(`      bob: ${end.freezes} freezes, ${end.frozen.toFixed(2)} s frozen in all`);
            assert.ok(end.frozen < 1, `bob's picture never froze a second across switches (${end.frozen} s)`);
            const c = await inbound(carol.page);
            assert.equal(c.width, top, 'carol keeps the top layer');
        }),
    },
];

await runIfMain(import.meta.url, tests);
