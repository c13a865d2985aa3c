/*
 * Two tabs of one Chromium (one browser context, so one sessionStorage origin and one
 * BroadcastChannel) open the demo app with the same user name and no device parameter, and join
 * the same room (issue 14): each tab is its own device (`tab-…`), so both stay, as two
 * participants, and decode each other; hearthd lists both. Then one tab mutes its microphone
 * (#mic): the other tab's tile of it shows "muted" and the participant list says so; unmuted, it
 * clears; the camera (#camera) likewise shows the camera-off placeholder and clears; a shared
 * screen (#screen, getDisplayMedia) shows in a tile of its own on the other tab, gone when
 * sharing stops. Last, a
 * moderator (a third page, `moderate=1`: dev auth grants it) clicks "Mute" next to one tab: that
 * tab is told (its notice, its own tile marked "muted by a moderator"), the other tab's tile of
 * it shows the same mark, the server's audit trail has the moderation.mute of its audio track,
 * and the moderator's "Unmute" lifts it everywhere.
 *
 *   node demo_two_tabs.test.mjs
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {joinDemo, videoFrom} from './call.mjs';
import {openBrowserPage, sleep, until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const joined = () => !!(window.hearthDemo.client && window.hearthDemo.client.state === 'joined' &&
                        window.hearthDemo.published);

/* A tab of `browser` on the demo app, joined and publishing; returns {name, page, id, device}. */
async function openTab(env, browser, name, params) {
    const page = browser.page.url() === 'about:blank' ? browser.page :
        await browser.page.context().newPage();
    await page.goto(env.demoUrl(params));
    await until(page, joined, null, {what: `${name} joined and publishing`});
    await page.evaluate(() => window.hearthDemo.published);
    return {
        name,
        page,
        ...(await page.evaluate(() => ({id: window.hearthDemo.client.participantId,
                                        device: window.hearthDemo.device}))),
    };
}

/* In `page`: the marks on participant `id`'s tile and list entry. */
function marksOf(page, id) {
    return page.evaluate(pid => {
        const tile = document.querySelector(`.tile.remote[data-participant="${pid}"]`);
        const li = document.querySelector(`#participants li[data-participant="${pid}"]`);
        const shown = sel => !!tile && tile.querySelector(sel).checkVisibility();
        return tile && {
            micOff: shown('.mic-off'),
            modMuted: shown('.mod-muted'),
            cameraOff: tile.classList.contains('camera-off') && shown('.off'),
            listed: li ? li.textContent : null,
        };
    }, id);
}

async function waitMarks(page, id, want, what) {
    const deadline = Date.now() + 10000;
    let m;
    for (;;) {
        m = await marksOf(page, id);
        if (m && Object.entries(want).every(([k, v]) => m[k] === v)) return m;
        if (Date.now() > deadline)
            throw new Error(`${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(m)}`);
        await sleep(100);
    }
}

export const tests = [
    {
        name: 'two tabs, one name: both stay; mute, unmute, camera and a moderator\'s mute are seen',
        timeoutMs: 90000,
        fn: () => withEnv(async env => {
            const room = 'two-tabs';
            const browser = await openBrowserPage('tabs');
            try {
                const a = await openTab(env, browser, 'tab A', {room, user: 'sam', autojoin: '1'});
                const b = await openTab(env, browser, 'tab B', {room, user: 'sam', autojoin: '1'});
                assert.match(a.device, /^tab-[0-9a-f]{8}$/, 'tab A made its own device id');
                assert.match(b.device, /^tab-[0-9a-f]{8}$/);
                assert.notEqual(a.device, b.device, 'each tab is its own device');
                assert.notEqual(a.id, b.id, 'two participants');
                await videoFrom(a.page, b.id, 10);
                await videoFrom(b.page, a.id, 10);
                await sleep(1000);
                for (const t of [a, b]) {
                    const s = await t.page.evaluate(() => ({
                        state: window.hearthDemo.client.state,
                        others: window.hearthDemo.participants(),
                        notice: window.hearthDemo.notice,
                    }));
                    assert.equal(s.state, 'joined', `${t.name} was not replaced`);
                    assert.equal(s.notice, '', `${t.name} shows no notice`);
                    assert.deepEqual(s.others.map(p => [p.user, p.device]),
                                     [['sam', (t === a ? b : a).device]],
                                     `${t.name} sees the other tab`);
                }
                const key = fs.readFileSync(path.join(env.hearthd.dir, 'data', 'admin.key'),
                                            'utf8').trim();
                const roster = await (await fetch(
                    `${env.hearthd.base}/v1/admin/rooms/${room}/participants`,
                    {headers: {Authorization: `Bearer ${key}`}})).json();
                assert.deepEqual(roster.participants.map(p => [p.user, p.device]).sort(),
                                 [['sam', a.device], ['sam', b.device]].sort(),
                                 'hearthd has both tabs in the room');
                const named = await waitMarks(b.page, a.id, {micOff: false}, 'tab B lists tab A');
                assert.equal(named.listed, `sam · ${a.device}`, 'two "sam"s are told apart');

                /* mute and unmute: tab A's own control, tab B's tile of A */
                await a.page.click('#mic');
                assert.equal(await a.page.textContent('#mic'), 'Unmute');
                let m = await waitMarks(b.page, a.id, {micOff: true}, 'tab B sees tab A muted');
                assert.match(m.listed, /muted$/, 'the list says so too');
                await a.page.click('#mic');
                await waitMarks(b.page, a.id, {micOff: false}, 'tab B sees tab A unmuted');
                await a.page.click('#camera');
                await waitMarks(b.page, a.id, {cameraOff: true}, 'tab B sees tab A\'s camera off');
                await a.page.click('#camera');
                await waitMarks(b.page, a.id, {cameraOff: false}, 'tab B sees it on again');

                /* screen share: tab B gets a tile of its own for tab A's screen, decoding */
                await a.page.click('#screen');
                await until(a.page, () => document.getElementById('screen').textContent ===
                                          'Stop sharing', null, {what: 'tab A shares its screen'});
                const shown = await until(b.page, id => {
                    const t = document.querySelector(`.tile.screen[data-screen-of="${id}"]`);
                    const v = t && t.querySelector('video');
                    return v && v.videoWidth > 0 && t.querySelector('figcaption').textContent;
                }, a.id, {what: 'tab B shows tab A\'s screen in a tile of its own'});
                assert.equal(shown, `sam · ${a.device}'s screen`);
                assert.equal(await b.page.evaluate(
                    id => document.querySelectorAll(`.tile.remote[data-participant="${id}"]`).length,
                    a.id), 1, 'the camera tile stays one');
                await a.page.click('#screen');
                await until(b.page, id => !document.querySelector(`.tile.screen[data-screen-of="${id}"]`),
                            a.id, {what: 'the screen tile goes when tab A stops sharing'});

                /* a moderator mutes tab A for the room */
                const mod = await joinDemo({...env, openDemo: (n, p) =>
                    env.openDemo(n, {...p, moderate: '1'})}, 'mod', room, {publish: false});
                const muteA = mod.page.getByRole('button', {name: `Mute sam · ${a.device}`,
                                                             exact: true});
                await until(mod.page, () => window.hearthDemo.client.tracks.size >= 4, null,
                            {what: 'mod knows both tabs\' tracks'});
                await muteA.click();
                const told = await until(a.page, () => /mute/.test(window.hearthDemo.notice) &&
                                                       window.hearthDemo.notice, null,
                                         {what: 'tab A told it was muted'});
                assert.match(told, /^mod mute /);
                assert.equal(await a.page.getByRole('alert').isVisible(), true, 'tab A shows it');
                assert.equal(await a.page.locator('#local-tile .mod-muted').isVisible(), true,
                             'tab A\'s own tile says muted by a moderator');
                await waitMarks(b.page, a.id, {modMuted: true}, 'tab B sees tab A muted by mod');
                m = await marksOf(b.page, b.id);
                assert.equal(m, null, 'tab B has no tile of itself among the remote ones');
                assert.equal((await b.page.evaluate(() => window.hearthDemo.notice)), '',
                             'tab B (the same user, another device) is not told it was muted');
                const audio = await mod.page.evaluate(
                    id => [...window.hearthDemo.client.tracks.values()]
                        .filter(t => t.participant === id && t.kind === 'audio').map(t => t.id),
                    a.id);
                const events = await (await fetch(
                    `${env.hearthd.base}/v1/admin/events?kind=moderation.mute&room=${room}`,
                    {headers: {Authorization: `Bearer ${key}`}})).json();
                assert.equal(events.events.length, 1, 'one moderation.mute in the audit trail');
                assert.match(JSON.stringify(events.events[0]), new RegExp(audio[0]),
                             'naming tab A\'s audio track');

                await mod.page.getByRole('button', {name: `Unmute sam · ${a.device}`, exact: true})
                    .click();
                await waitMarks(b.page, a.id, {modMuted: false, micOff: false},
                                'tab B sees the moderator\'s mute lifted');
                await until(a.page, () =>
                    !document.querySelector('#local-tile .mod-muted').checkVisibility(), null,
                            {what: 'tab A\'s mark lifted'});
            } finally {
                await browser.close();
            }
        }),
    },
];

await runIfMain(import.meta.url, tests);
