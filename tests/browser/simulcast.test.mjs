/*
 * Simulcast through hearthd: alice publishes her camera in three layers (rids q, h, f), bob
 * receives one of them. By default he gets the best layer alice is sending; `track.layer`
 * switches him to q (160 px wide), then h (320 px), each at a keyframe, while his decoder keeps
 * counting frames without a gap in the picture, and the server tells him each time which layer
 * he receives and its size (track.receiving). Asked for a size instead (setSize), he gets the
 * smallest layer at least that large, and his tile's caption names it.
 */
import assert from 'node:assert/strict';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

async function video(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        let v = null;
        s.subscriber.forEach(r => {
            if (r.type === 'inbound-rtp' && r.kind === 'video')
                v = {width: r.frameWidth || 0, frames: r.framesDecoded || 0};
        });
        return v;
    });
}

export const tests = [
    {
        name: 'a subscriber gets the best layer, then the one it asks for',
        timeoutMs: 90000,
        fn: () => withEnv(async env => {
            const alice = await env.openDemo(
                'alice', {room: 'sim', user: 'alice', autojoin: '1', simulcast: '1'});
            const bob =
                await env.openDemo('bob', {room: 'sim', user: 'bob', autojoin: '1', publish: '0'});
            await until(alice.page, async () => {
                const s = await window.hearthDemo.client.getStats();
                let rids = 0;
                s.publisher.forEach(r => {
                    if (r.type === 'outbound-rtp' && r.kind === 'video' && r.packetsSent > 10) rids++;
                });
                return rids >= 2;
            }, null, {timeout: 20000, what: 'alice sending at least two layers'});
            const first = await until(bob.page, async () => {
                const s = await window.hearthDemo.client.getStats();
                let v = null;
                s.subscriber.forEach(r => {
                    if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 10)
                        v = r.frameWidth;
                });
                return v;
            }, null, {timeout: 20000, what: 'bob decoding alice'});
            assert.ok(first >= 320, `bob starts on a high layer (${first} px wide)`);
            const track = await bob.page.evaluate(
                () => [...window.hearthDemo.client.tracks.values()].find(t => t.kind === 'video').id);
            for (const [rid, width] of [['q', 160], ['h', 320]]) {
                const before = await video(bob.page);
                await bob.page.evaluate(([t, r]) => window.hearthDemo.client.setLayer(t, r), [track, rid]);
                await until(bob.page, async w => {
                    const s = await window.hearthDemo.client.getStats();
                    let ok = false;
                    s.subscriber.forEach(r => {
                        if (r.type === 'inbound-rtp' && r.kind === 'video' && r.frameWidth === w) ok = true;
                    });
                    return ok;
                }, width, {timeout: 10000, what: `bob on layer ${rid} (${width} px)`});
                const after = await video(bob.page);
                assert.ok(after.frames > before.frames, `bob keeps decoding across the switch to ${rid}`);
                console.log(`      layer ${rid}: ${after.width} px, ${after.frames} frames decoded`);
                /* the server says so (track.receiving), with the size it read from the keyframe */
                const told = await until(bob.page, ([t, r]) => {
                    const x = window.hearthDemo.client.receiving.get(t);
                    return x && x.rid === r && x;
                }, [track, rid], {timeout: 5000, what: `track.receiving naming ${rid}`});
                assert.equal(told.width, width, `track.receiving's width for ${rid}`);
                assert.equal(told.limited, false, 'bob got what he asked for');
            }
            /* A size instead of a rid: the smallest layer at least that large (h: 320 px). */
            await bob.page.evaluate(t => window.hearthDemo.client.setLayer(t, 'q'), track);
            await until(bob.page, t => (window.hearthDemo.client.receiving.get(t) || {}).rid === 'q',
                        track, {timeout: 10000, what: 'bob back on q'});
            await bob.page.evaluate(t => window.hearthDemo.client.setSize(t, 300, 200), track);
            const sized = await until(bob.page, t => {
                const x = window.hearthDemo.client.receiving.get(t);
                return x && x.rid === 'h' && x;
            }, track, {timeout: 10000, what: 'a 300x200 tile getting h'});
            console.log(`      setSize 300x200: ${sized.rid} ${sized.width}x${sized.height}`);
            const caption = await until(bob.page, () => {
                const el = document.querySelector('.tile.remote figcaption .layer');
                return el && /h 320×/.test(el.textContent) && el.textContent;
            }, null, {timeout: 5000, what: "the tile's caption naming its layer"});
            console.log(`      bob's tile: ${caption.trim()}`);
        }),
    },
];

await runIfMain(import.meta.url, tests);
