/*
 * A cluster in Chromium (issue 13, docs/scaling.md): three hearthd nodes on loopback sharing one
 * redis-server and one PostgreSQL database (both started by tests/integration/backends.py, the
 * Python tests' throwaway servers). alice opens the demo page served by node A, bob the one
 * served by node C; each page asks its own node for a ticket, and both tickets send them to the
 * node that hosts the room, where they meet and decode each other's video.
 *
 * Then the hosting node is killed (kill -9). Nothing else is done: each page's SDK finds the
 * other nodes from the join result's `cluster.signal_urls`, resumes there (following
 * `room_elsewhere` until the dead node's lease runs out), as the same participant, and both
 * decode each other again on the new node. Printed: kill -9 -> each page resumed, -> video
 * decoded again.
 *
 * Nothing is skipped under CI=true: a missing Chromium, redis-server or PostgreSQL fails.
 *
 *   node cluster.test.mjs
 */
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import {Hearthd, openBrowserPage, repoRoot, Skip, sleep, until} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const ROOM = 'cluster-hall';
const LEASE_MS = 2000;
const MEDIA_WAIT_MS = 30000;

/* redis-server and PostgreSQL, up until stop(). */
async function startBackends() {
    const proc = spawn('/usr/bin/python3',
                       [path.join(repoRoot, 'tests', 'integration', 'backends.py'), 'redis', 'pg'],
                       {stdio: ['pipe', 'pipe', 'inherit']});
    const line = await new Promise((resolve, reject) => {
        const rl = readline.createInterface({input: proc.stdout});
        rl.once('line', resolve);
        proc.once('exit', code => reject(new Error(`backends.py exited with ${code}`)));
    });
    const got = JSON.parse(line);
    const stop = () => new Promise(r => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', r);
        proc.stdin.end();
    });
    if (got.skip) {
        await stop();
        if (process.env.CI === 'true') throw new Error(`${got.skip} (CI=true: a missing peer fails)`);
        throw new Skip(got.skip);
    }
    if (got.error) {
        await stop();
        throw new Error(`backends: ${got.error}`);
    }
    return {...got, stop};
}

/* The demo page from `node` as `name`, joined and publishing. */
async function joinFrom(node, name, pages) {
    const p = await openBrowserPage(name);
    pages.push(p);
    await p.page.goto(`${node.base}/demo/?${new URLSearchParams({room: ROOM, user: name, autojoin: '1'})}`);
    await until(p.page,
                () => !!(window.hearthDemo && window.hearthDemo.client &&
                         window.hearthDemo.client.state === 'joined' && window.hearthDemo.published),
                null, {what: `${name} joined and publishing`, timeout: 20000});
    p.id = await p.page.evaluate(() => window.hearthDemo.client.participantId);
    return p;
}

/* Frames decoded on `p` from participant `from` (the demo's stats, summed). */
function frames(p, from) {
    return p.page.evaluate(async id => ((await window.hearthDemo.stats())[id] || {}).framesDecoded || 0,
                           from);
}

async function decodes(p, from, what) {
    const first = await until(p.page, async id =>
        ((await window.hearthDemo.stats())[id] || {}).framesDecoded || 0, from,
                              {timeout: MEDIA_WAIT_MS, what});
    await sleep(1000);
    const later = await frames(p, from);
    assert.ok(later > first, `${what}: frames keep coming (${first} -> ${later})`);
    return later;
}

/* Which node a page's SDK signals on now. */
function signalNode(p, nodes) {
    return p.page.evaluate(() => window.hearthDemo.client._signalUrl).then(url =>
        nodes.find(n => url && url.includes(`:${n.port}/`)));
}

export const tests = [
    {
        name: 'pages with tickets from different nodes meet on the host; kill -9 of the host: both resume on another node',
        timeoutMs: 180000,
        fn: async () => {
            const be = await startBackends();
            const nodes = [], pages = [];
            try {
                for (const name of ['node-a', 'node-b', 'node-c'])
                    nodes.push(await new Hearthd({HX_ENGINE_DEBUG: '1'}, [
                        '--set', `cluster.redis=${be.redis}`, '--set', `cluster.node=${name}`,
                        '--set', `cluster.lease_ms=${LEASE_MS}`, '--set', 'store.backend=postgres',
                        '--set', `store.postgres_url=${be.pg_url}`
                    ]).start());
                await sleep(2200); /* two registry rounds: each node sees the three */
                const [A, , C] = nodes;
                const alice = await joinFrom(A, 'alice', pages);
                const bob = await joinFrom(C, 'bob', pages);
                const hostA = await signalNode(alice, nodes), hostB = await signalNode(bob, nodes);
                assert.ok(hostA && hostA === hostB,
                          `both pages signal on one node (${hostA && hostA.port}, ${hostB && hostB.port})`);
                const host = hostA;
                console.log(`  host: node on port ${host.port} (alice's page from ${A.port}, bob's from ${C.port})`);
                await decodes(alice, bob.id, 'alice decodes bob');
                await decodes(bob, alice.id, 'bob decodes alice');

                /* kill -9 of the host */
                for (const p of [alice, bob])
                    await p.page.evaluate(() => {
                        const c = window.hearthDemo.client;
                        window.rt = {reconnected: null, disconnected: null};
                        c.addEventListener('reconnected',
                                           e => window.rt.reconnected = {at: Date.now(), ...e.detail});
                        c.addEventListener('disconnected', e => window.rt.disconnected = {...e.detail});
                    });
                const killedAt = Date.now();
                await host.kill('SIGKILL');
                for (const p of [alice, bob]) {
                    const r = await until(p.page, () => window.rt.reconnected || window.rt.disconnected,
                                          null, {timeout: 30000, what: `${p.name} resumed`});
                    assert.ok(r.at, `${p.name} resumed, not disconnected: ${JSON.stringify(r)}`);
                    assert.equal(await p.page.evaluate(() => window.hearthDemo.client.participantId),
                                 p.id, `${p.name} is the same participant`);
                    p.resumedMs = r.at - killedAt;
                }
                const nowA = await signalNode(alice, nodes), nowB = await signalNode(bob, nodes);
                assert.ok(nowA && nowA !== host && nowA === nowB,
                          `both resumed on one live node (${nowA && nowA.port}, ${nowB && nowB.port})`);
                await decodes(alice, bob.id, 'alice decodes bob again');
                const decodedMs = Date.now() - killedAt;
                await decodes(bob, alice.id, 'bob decodes alice again');
                console.log(`  kill -9 -> alice resumed ${alice.resumedMs} ms, bob ${bob.resumedMs} ms; ` +
                            `-> alice decoding again by ${decodedMs} ms (new host: port ${nowA.port})`);
                const errors = await alice.page.evaluate(() => window.hearthDemo.errors);
                assert.deepEqual(errors, [], 'no error on alice\'s page');
            } catch (e) {
                const lines = pages.flatMap(p => p.console).slice(-30);
                e.message += `\n--- page console ---\n${lines.join('\n')}` +
                    nodes.map(n => `\n--- ${n.port} log ---\n${n.logTail(25)}`).join('');
                throw e;
            } finally {
                await Promise.all(pages.map(p => p.close()));
                for (const n of nodes) await n.stop();
                if (process.env.HEARTH_KEEP_LOGS !== '1')
                    for (const n of nodes) fs.rmSync(n.dir, {recursive: true, force: true});
                await be.stop();
            }
        },
    },
];

await runIfMain(import.meta.url, tests);
