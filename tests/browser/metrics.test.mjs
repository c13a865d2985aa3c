/*
 * The media plane on /metrics: after a two-page call, hearthd's Prometheus text counts the
 * packets it received and forwarded (from the engine's stats events), the media sessions, and
 * the join-to-connected histogram of DESIGN §8's join SLO; the round trip to subscribers from
 * their receiver reports, the jitter of what the publishers send and of what the subscribers
 * receive, each a histogram with loopback-sized values; no packet dropped.
 */
import assert from 'node:assert/strict';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

function value(text, name) {
    const line = text.split('\n').find(l => l.startsWith(name + ' ') || l.startsWith(name + '{'));
    return line ? Number(line.split(' ').pop()) : NaN;
}

export const tests = [
    {
        name: 'media counters and the join histogram on /metrics',
        timeoutMs: 60000,
        fn: () => withEnv(async env => {
            const pages = [];
            for (const name of ['alice', 'bob']) {
                const p = await env.openDemo(name, {room: 'm', user: name, autojoin: '1'});
                pages.push(p);
            }
            await until(pages[1].page, async () => {
                const s = await window.hearthDemo.stats();
                return Object.values(s).some(v => v.framesDecoded > 20);
            }, null, {timeout: 30000, what: 'bob decoding'});
            await new Promise(r => setTimeout(r, 2500)); /* one engine stats period */
            const text = await (await fetch(`${env.hearthd.base}/metrics`)).text();
            const got = {};
            for (const n of ['hearth_media_packets_received_total', 'hearth_media_packets_sent_total',
                             'hearth_media_bytes_sent_total', 'hearth_media_sessions_total',
                             'hearth_join_media_seconds_count', 'hearth_tracks_published_total'])
                got[n] = value(text, n);
            console.log(`      ${JSON.stringify(got)}`);
            assert.ok(got.hearth_media_packets_received_total > 100, 'packets received counted');
            assert.ok(got.hearth_media_packets_sent_total > 100, 'packets forwarded counted');
            assert.ok(got.hearth_media_bytes_sent_total > got.hearth_media_packets_sent_total * 10);
            assert.equal(got.hearth_media_sessions_total, 2);
            assert.equal(got.hearth_join_media_seconds_count, 2, 'each session connected once');
            assert.ok(got.hearth_tracks_published_total >= 2);

            /* RTCP measurements: each subscriber's receiver reports name hearth's sender reports
             * (LSR/DLSR), every 1-2 s; the engine reports them every 2 s. */
            const hists = ['hearth_media_rtt_seconds', 'hearth_media_jitter_seconds',
                           'hearth_media_subscriber_jitter_seconds'];
            let m = '';
            const deadline = Date.now() + 15000;
            for (;;) {
                m = await (await fetch(`${env.hearthd.base}/metrics`)).text();
                if (hists.every(h => value(m, h + '_count') >= 2) || Date.now() > deadline) break;
                await new Promise(r => setTimeout(r, 500));
            }
            const mean = {};
            for (const h of hists) {
                const n = value(m, h + '_count');
                mean[h] = value(m, h + '_sum') / n;
                assert.ok(n >= 2, `${h}: observations from both sides (${n})`);
            }
            console.log(`      means ${JSON.stringify(mean)}`);
            assert.ok(mean.hearth_media_rtt_seconds < 0.05, 'loopback round trip under 50 ms');
            assert.ok(mean.hearth_media_jitter_seconds < 0.05, 'publisher jitter under 50 ms');
            assert.ok(mean.hearth_media_subscriber_jitter_seconds < 0.05,
                      'subscriber jitter under 50 ms');
            assert.equal(value(m, 'hearth_media_packets_dropped_total{reason="srtp_auth"}'), 0);
        }),
    },
];

await runIfMain(import.meta.url, tests);
