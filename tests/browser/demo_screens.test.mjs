/*
 * What a person sees in the demo app (issue 14), at desktop width (1280×800) and phone width
 * (390×844): two pages in a call, each shows both tiles with the other's video decoding (frames
 * decoded by getStats, and pixels of the tile that are not black), the names on the tiles, the
 * mic / camera / screen / leave controls visible, inside the viewport and clickable (Playwright's
 * actionability check: nothing covers them), nothing wider than the window (no horizontal
 * scroll), tiles side by side on the desktop and stacked on the phone, and the room list naming
 * the room with 2 people. Screenshots of each page land in a temp dir whose path is printed.
 * Then, at phone width, what a failed join says (a bad room name, a server that is not there),
 * and the Server field: a page served by one hearthd joins a room on another.
 *
 *   node demo_screens.test.mjs
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {joinDemo, videoFrom} from './call.mjs';
import {Hearthd, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const SIZES = {desktop: {width: 1280, height: 800}, phone: {width: 390, height: 844}};
const CONTROLS = ['#mic', '#camera', '#screen', '#leave'];

let shotDir = null;
function screenshotDir() {
    if (!shotDir) {
        shotDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-demo-screens-'));
        console.log(`  screenshots: ${shotDir}`);
    }
    return shotDir;
}

/* In the page: the share of a tile's video pixels that are not black (the fake camera draws a
 * coloured frame), and the tile's caption. */
function tilePixels(selector) {
    const tile = document.querySelector(selector);
    const video = tile && tile.querySelector('video');
    if (!video || !video.videoWidth) return null;
    const c = document.createElement('canvas');
    c.width = 160;
    c.height = 120;
    const g = c.getContext('2d');
    g.drawImage(video, 0, 0, c.width, c.height);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    for (let i = 0; i < px.length; i += 4)
        if (px[i] + px[i + 1] + px[i + 2] > 60) lit++;
    return {lit: lit / (px.length / 4), caption: tile.querySelector('figcaption').textContent};
}

/* In the page: where things are, for the layout checks. */
function layout(otherId) {
    const rect = el => {
        const r = el.getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
                height: r.height};
    };
    const remote = document.querySelector(`.tile.remote[data-participant="${otherId}"]`);
    return {
        innerWidth,
        clientWidth: document.documentElement.clientWidth, /* without a scroll bar */
        scrollWidth: document.scrollingElement.scrollWidth,
        local: rect(document.getElementById('local-tile')),
        remote: remote && rect(remote),
        localLabel: document.getElementById('local-label').textContent,
    };
}

/* Everything a person should see on `me`'s page in a call with `other`, at `size`. */
async function checkScreen(me, other, room, sizeName) {
    const page = me.page;
    const size = SIZES[sizeName];
    await videoFrom(page, other.id, 30);
    const pixels = await until(page, ([sel]) => {
        const p = window.tilePixels(sel);
        return p && p.lit > 0.2 && p;
    }, [`.tile.remote[data-participant="${other.id}"]`],
    {what: `${me.name} shows ${other.name}'s video (pixels not black)`});
    assert.equal(pixels.caption, other.name, `${me.name}'s tile of ${other.name} is named`);
    const own = await page.evaluate(() => window.tilePixels('#local-tile'));
    assert.ok(own && own.lit > 0.2, `${me.name} sees their own camera: ${JSON.stringify(own)}`);

    const l = await page.evaluate(layout, other.id);
    assert.equal(l.localLabel, `${me.name} (you)`, 'the local tile is named');
    assert.ok(l.remote && l.remote.width > 100 && l.remote.height > 75,
              `${other.name}'s tile is visible: ${JSON.stringify(l.remote)}`);
    for (const [what, r] of [['local', l.local], ['remote', l.remote]])
        assert.ok(r.left >= 0 && r.right <= l.clientWidth + 0.5,
                  `${sizeName}: the ${what} tile is inside the window: ${JSON.stringify(r)}`);
    assert.ok(l.scrollWidth <= l.innerWidth,
              `${sizeName}: no horizontal scroll (${l.scrollWidth} > ${l.innerWidth})`);
    if (sizeName === 'phone')
        assert.ok(l.remote.top >= l.local.bottom - 1,
                  `phone: the tiles stack: ${JSON.stringify([l.local, l.remote])}`);
    else
        assert.ok(Math.abs(l.remote.top - l.local.top) < 2 && l.remote.left >= l.local.right,
                  `desktop: the tiles are side by side: ${JSON.stringify([l.local, l.remote])}`);

    const width = l.clientWidth;
    for (const sel of CONTROLS) {
        const b = page.locator(sel);
        assert.equal(await b.isVisible(), true, `${sizeName}: ${sel} is visible`);
        assert.equal(await b.isEnabled(), true, `${sizeName}: ${sel} is enabled`);
        await b.scrollIntoViewIfNeeded();
        const box = await b.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= width + 0.5 && box.y >= 0 &&
                  box.y + box.height <= size.height + 0.5,
                  `${sizeName}: ${sel} is inside the viewport: ${JSON.stringify(box)}`);
        await b.click({trial: true, timeout: 3000}); /* visible, stable, enabled, not covered */
    }

    const rooms = await until(page, r => {
        const li = document.querySelector(`#rooms li[data-room="${r}"]`);
        return li && li.querySelector('.count').textContent === '2 people' && li.textContent;
    }, room, {what: `${me.name}'s room list names ${room} with 2 people`});
    assert.match(rooms, new RegExp(`^${room}2 people`));

    await page.evaluate(() => window.scrollTo(0, 0));
    const file = path.join(screenshotDir(), `${sizeName}-${me.name}.png`);
    await page.screenshot({path: file, fullPage: true});
    console.log(`  ${sizeName} ${me.name}: ${pixels.caption}'s tile ${Math.round(pixels.lit * 100)} % ` +
                `lit, scrollWidth ${l.scrollWidth}/${l.innerWidth}; ${path.basename(file)}`);
}

/* Two pages at `sizeName` in a call; each page checked. */
function call(sizeName) {
    return withEnv(async env => {
        const room = `screens-${sizeName}`;
        const sized = page => page.setViewportSize(SIZES[sizeName]);
        const init = page => page.addInitScript(`window.tilePixels = ${tilePixels}`);
        const peers = [];
        for (const name of ['alice', 'bob']) {
            const env2 = {...env, openDemo: (n, params) =>
                env.openDemo(n, params, {before: async page => {
                    await sized(page);
                    await init(page);
                }})};
            peers.push(await joinDemo(env2, name, room));
        }
        const [alice, bob] = peers;
        await checkScreen(alice, bob, room, sizeName);
        await checkScreen(bob, alice, room, sizeName);
    });
}

export const tests = [
    {name: 'desktop 1280×800: tiles, names, controls, room list', fn: () => call('desktop')},
    {name: 'phone 390×844: tiles stack, controls reachable, no horizontal scroll',
     fn: () => call('phone')},
    {
        name: 'a failed join says why; the Server field joins another hearthd',
        fn: () => withEnv(async env => {
            const other = await new Hearthd({}, []).start();
            try {
                const p = await env.openDemo('carol', {user: 'carol', publish: '0'}, {
                    before: page => page.setViewportSize(SIZES.phone)});
                const notice = async () => {
                    const n = p.page.locator('#notice');
                    await until(p.page, () => !document.getElementById('notice').hidden, null,
                                {what: 'a notice'});
                    assert.equal(await n.isVisible(), true, 'the notice is shown');
                    return n.textContent();
                };
                /* a room name the server refuses: its message and code */
                await p.page.fill('#room', 'no spaces allowed');
                await p.page.click('#join');
                assert.match(await notice(), /^Could not join: .+ \(bad_request\)$/);
                assert.equal(await p.page.locator('#join').isVisible(), true, 'the form is back');
                /* a server that is not there */
                await p.page.fill('#room', 'lobby');
                await p.page.fill('#server', 'http://127.0.0.1:1');
                await p.page.click('#join');
                assert.match(await notice(), /^Could not reach the server at http:\/\/127\.0\.0\.1:1/);
                assert.deepEqual(await p.page.evaluate(() => window.hearthDemo.lastError.code),
                                 'network_error');
                /* the Server field: another hearthd (its CSP allows the fetch, its CORS the origin) */
                await p.page.fill('#server', other.base);
                await p.page.click('#join');
                await until(p.page, () => window.hearthDemo.client &&
                                          window.hearthDemo.client.state === 'joined', null,
                            {what: 'carol joined on the other hearthd'});
                assert.equal(await p.page.locator('#notice').isHidden(), true, 'no notice now');
                const listed = await (await fetch(`${other.base}/v1/rooms/public`)).json();
                assert.deepEqual(listed, {rooms: [{room: 'lobby', participants: 1}]},
                                 'carol is in lobby on the other hearthd');
                const here = await (await fetch(`${env.hearthd.base}/v1/rooms/public`)).json();
                assert.deepEqual(here, {rooms: []}, 'and not on the one that served the page');
                await until(p.page, () => {
                    const li = document.querySelector('#rooms li[data-room="lobby"]');
                    return li && li.classList.contains('here');
                }, null, {what: 'the room list is the other server\'s'});
            } finally {
                await other.stop();
                fs.rmSync(other.dir, {recursive: true, force: true});
            }
        }),
    },
];

await runIfMain(import.meta.url, tests);
