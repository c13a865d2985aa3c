/*
 * Media over IPv6: hearthd's media socket bound to ::1 (media.host), two aiortc clients whose
 * ICE gathers only ::1; each decodes the other's video. (Chromium gathers no IPv6 loopback
 * candidates, so aiortc is the IPv6 peer here.)
 */
import assert from 'node:assert/strict';
import os from 'node:os';

import {startAiortc} from './aiortc.test.mjs';
import {Skip, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

export const tests = [
    {
        name: 'two aiortc clients over IPv6 (::1) decode each other',
        timeoutMs: 90000,
        fn: async () => {
            const lo = Object.values(os.networkInterfaces()).flat().some(a => a && a.address === '::1');
            if (!lo) throw new Skip('no ::1 on this host');
            const saved = process.env.HEARTHD_ARGS;
            process.env.HEARTHD_ARGS = `${saved || ''} --set media.host=::1`.trim();
            try {
                await withEnv(async env => {
                    const a = await startAiortc(env, 'v6', 'a6', ['--host', '::1']);
                    const b = await startAiortc(env, 'v6', 'b6', ['--host', '::1']);
                    try {
                        for (const [rx, tx] of [[a, b], [b, a]]) {
                            const n = await rx.until(s => s.frames && s.frames[tx.id] > 10 && s.frames[tx.id],
                                                     `${rx.name} decoding ${tx.name} over IPv6`);
                            assert.ok(n > 10);
                            console.log(`      ${rx.name} <- ${tx.name}: ${n} frames`);
                        }
                    } finally {
                        await a.stop();
                        await b.stop();
                    }
                });
            } finally {
                if (saved === undefined)
                    delete process.env.HEARTHD_ARGS;
                else
                    process.env.HEARTHD_ARGS = saved;
            }
        },
    },
];

await runIfMain(import.meta.url, tests);
