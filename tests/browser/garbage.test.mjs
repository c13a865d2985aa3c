/*
 * Garbage on the media port does not disturb a call: while alice and bob watch each other, a raw
 * UDP socket (node:dgram) sends hearthd's media port thousands of bad packets, each class
 * demultiplexed differently by RFC 7983's first byte: random bytes, truncated and forged STUN
 * (first byte 0/1, with and without the magic cookie), truncated DTLS records (20-63), truncated
 * RTP/RTCP (0x80 ...), valid-looking RTP headers with random SSRCs, RTCP headers with lying
 * lengths, 1-byte and 1500-byte packets. Both pages must keep decoding during the flood and
 * after it, and hearthd must stay up (GET /healthz 200, process alive).
 *
 *   node garbage.test.mjs
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';

import {inboundByParticipant, joinDemo, videoFrom} from './call.mjs';
import {sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const ROUNDS = 40; /* each round sends one packet of every kind below */
const ROUND_GAP_MS = 50;

const rand = n => crypto.randomBytes(n);
const randInt = (lo, hi) => lo + crypto.randomInt(hi - lo + 1);

/* One bad packet of each kind; `kinds` names them in the same order. */
const kinds = {
    random: () => rand(randInt(2, 1200)),
    one_byte: () => Buffer.from([randInt(0, 255)]),
    big_random: () => rand(1500),
    stun_truncated: () => Buffer.concat([Buffer.from([randInt(0, 1)]), rand(randInt(0, 19))]),
    stun_cookie: () => {
        /* a binding request header with the magic cookie and a lying length, random body */
        const b = Buffer.concat([Buffer.alloc(20), rand(randInt(0, 80))]);
        b.writeUInt16BE(0x0001, 0);
        b.writeUInt16BE(randInt(0, 0xffff) & ~3, 2);
        b.writeUInt32BE(0x2112a442, 4);
        rand(12).copy(b, 8);
        return b;
    },
    stun_username: () => {
        /* a well-formed binding request with an unknown USERNAME and no integrity */
        const user = Buffer.from('nobody:nothing');
        const attr = Buffer.alloc(4 + 16);
        attr.writeUInt16BE(0x0006, 0);
        attr.writeUInt16BE(user.length, 2);
        user.copy(attr, 4);
        const h = Buffer.alloc(20);
        h.writeUInt16BE(0x0001, 0);
        h.writeUInt16BE(attr.length, 2);
        h.writeUInt32BE(0x2112a442, 4);
        rand(12).copy(h, 8);
        return Buffer.concat([h, attr]);
    },
    dtls_truncated: () => Buffer.concat([Buffer.from([randInt(20, 63)]), rand(randInt(0, 12))]),
    dtls_record: () => {
        /* a handshake record header (ClientHello-looking) with a lying length */
        const b = Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), rand(10), rand(randInt(0, 200))]);
        return b;
    },
    rtp_truncated: () => Buffer.concat([Buffer.from([0x80]), rand(randInt(0, 10))]),
    rtp_random_ssrc: () => {
        /* a 12-byte RTP header (VP8-ish payload type) with a random SSRC and a random payload */
        const h = Buffer.alloc(12);
        h[0] = 0x80;
        h[1] = randInt(96, 127) | (randInt(0, 1) << 7);
        h.writeUInt16BE(randInt(0, 0xffff), 2);
        h.writeUInt32BE(randInt(0, 0xffffffff), 4);
        h.writeUInt32BE(randInt(0, 0xffffffff), 8);
        return Buffer.concat([h, rand(randInt(0, 1000))]);
    },
    rtp_extension: () => {
        /* X bit set with an extension length pointing past the end */
        const h = Buffer.alloc(16);
        h[0] = 0x90 | randInt(0, 15);
        h[1] = 96;
        h.writeUInt32BE(randInt(0, 0xffffffff), 8);
        h.writeUInt16BE(0xbede, 12);
        h.writeUInt16BE(randInt(1, 0xffff), 14);
        return h;
    },
    rtcp_lying: () => {
        /* RTCP SR / NACK / PLI / BYE headers whose length field overruns the packet */
        const b = Buffer.concat([Buffer.alloc(8), rand(randInt(0, 40))]);
        b[0] = 0x80 | randInt(0, 31);
        b[1] = [200, 201, 202, 203, 205, 206][randInt(0, 5)];
        b.writeUInt16BE(randInt(0, 0xffff), 2);
        b.writeUInt32BE(randInt(0, 0xffffffff), 4);
        return b;
    },
    empty_ish: () => Buffer.from([0x80, 0xc8]),
};

/* Sends ROUNDS rounds of every kind to 127.0.0.1:port; resolves with the number sent. */
async function flood(port) {
    const sock = dgram.createSocket('udp4');
    await new Promise(r => sock.bind(0, '127.0.0.1', r));
    let sent = 0;
    const send = buf => new Promise((resolve, reject) => sock.send(buf, port, '127.0.0.1', e => {
        if (e) return reject(e);
        sent++;
        resolve();
    }));
    try {
        for (let i = 0; i < ROUNDS; i++) {
            /* each kind a few times per round: thousands in all */
            for (let j = 0; j < 5; j++)
                for (const make of Object.values(kinds)) await send(make());
            await sleep(ROUND_GAP_MS);
        }
    } finally {
        sock.close();
    }
    return sent;
}

async function framesFrom(rx, tx) {
    const s = (await inboundByParticipant(rx.page))[tx.id];
    return s && s.video ? s.video.framesDecoded : 0;
}

export const tests = [
    {
        name: 'thousands of garbage packets to the media port do not disturb a call',
        timeoutMs: 90000,
        fn: () => withEnv(async env => {
            const room = 'browser-garbage';
            const alice = await joinDemo(env, 'alice', room);
            const bob = await joinDemo(env, 'bob', room);
            const pairs = [[alice, bob], [bob, alice]];
            for (const [rx, tx] of pairs) await videoFrom(rx.page, tx.id, 10);
            const port = env.hearthd.mediaPort();

            const before = await Promise.all(pairs.map(([rx, tx]) => framesFrom(rx, tx)));
            const flooding = flood(port);
            /* during: sample while the flood runs (it takes about ROUNDS * ROUND_GAP_MS) */
            await sleep(ROUNDS * ROUND_GAP_MS / 2);
            const during = await Promise.all(pairs.map(([rx, tx]) => framesFrom(rx, tx)));
            const sent = await flooding;
            const flooded = await Promise.all(pairs.map(([rx, tx]) => framesFrom(rx, tx)));
            await sleep(1500);
            const after = await Promise.all(pairs.map(([rx, tx]) => framesFrom(rx, tx)));
            console.log(
                `      garbage: ${sent} packets (${Object.keys(kinds).length} kinds) to ` +
                `udp ${port}; frames ${JSON.stringify({before, during, flooded, after})}`);

            assert.ok(sent >= 2000, `sent ${sent} garbage packets`);
            pairs.forEach(([rx, tx], i) => {
                const what = `${rx.name} decoding ${tx.name}`;
                assert.ok(during[i] > before[i], `${what}: frames grow during the flood`);
                assert.ok(flooded[i] > during[i], `${what}: frames grow to the end of the flood`);
                assert.ok(after[i] > flooded[i], `${what}: frames grow after the flood`);
            });
            assert.ok(env.hearthd.running, `hearthd is running:\n${env.hearthd.logTail()}`);
            const health = await fetch(`${env.hearthd.base}/healthz`);
            assert.equal(health.status, 200, 'GET /healthz');
            /* the call is still a call: data still relays */
            await until(alice.page, () => window.hearthDemo.dataOpen, null, {what: 'data open'});
            await alice.page.evaluate(() => window.hearthDemo.sendChat('still here'));
            const got = await bob.page.waitForFunction(
                () => window.hearthDemo.lastData &&
                    window.hearthDemo.lastData.data === 'still here' &&
                    window.hearthDemo.lastData.from,
                null, {timeout: 10000});
            assert.equal(await got.jsonValue(), alice.id);
        }),
    },
];

await runIfMain(import.meta.url, tests);
