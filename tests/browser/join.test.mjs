/*
 * Signaling through the demo page: two real Chromium pages join one room on a real hearthd,
 * each sees the other (the joiner from the join result, the first from participant.joined),
 * request/reply works (room.info), and leaving is seen by the one who stays
 * (participant.left). Needs only the control plane: media negotiation may fail here.
 *
 *   node join.test.mjs
 */
import assert from 'node:assert/strict';

import {until, withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

/* What a page knows about who is in the room: its own id, the others, the DOM list. */
function roster(page) {
    return page.evaluate(() => ({
                             me: window.hearthDemo.client && window.hearthDemo.client.participantId,
                             others: window.hearthDemo.participants(),
                             listed: [...document.querySelectorAll('#participants li')].map(
                                 li => li.dataset.participant),
                             state: window.hearthDemo.client && window.hearthDemo.client.state,
                         }));
}

export const tests = [
    {
        name: 'two pages join a room, see each other, then leave',
        fn: () => withEnv(async env => {
            const room = 'browser-join';
            /* alice joins through the query string (autojoin), bob through hearthDemo.join() */
            const alice =
                await env.openDemo('alice', {room, user: 'alice', autojoin: '1', publish: '0'});
            await until(
                alice.page,
                () => window.hearthDemo.client && window.hearthDemo.client.state === 'joined', null,
                {what: 'alice joined'});
            const bob = await env.openDemo('bob', {room, user: 'bob', publish: '0'});
            const joined = await bob.page.evaluate(async () => {
                const r = await window.hearthDemo.join();
                return {participant: r.participant, room: r.room};
            });
            assert.equal(joined.participant.user, 'bob');
            assert.equal(joined.room.name, room);
            assert.deepEqual(
                joined.room.participants.map(p => p.user), ['alice'],
                'the join result lists alice, who was there first');

            await until(
                alice.page, () => window.hearthDemo.participants().some(p => p.user === 'bob'),
                null, {what: 'alice sees bob (participant.joined)'});
            const a = await roster(alice.page), b = await roster(bob.page);
            assert.ok(a.me && b.me && a.me !== b.me, 'distinct participant ids');
            assert.deepEqual(a.others.map(p => [p.id, p.user]), [[b.me, 'bob']]);
            assert.deepEqual(b.others.map(p => [p.id, p.user]), [[a.me, 'alice']]);
            assert.deepEqual(a.listed, [a.me, b.me], 'alice\'s page lists herself and bob');
            assert.deepEqual(b.listed, [b.me, a.me], 'bob\'s page lists himself and alice');

            /* a plain request through the SDK: room.info lists everyone, the caller included */
            const info =
                await alice.page.evaluate(() => window.hearthDemo.client.request('room.info'));
            assert.deepEqual(info.room.participants.map(p => p.user).sort(), ['alice', 'bob']);

            /* an unknown request type comes back as a HearthError with the server's code */
            const err = await alice.page.evaluate(
                () => window.hearthDemo.client.request('no.such.type')
                          .then(() => null, e => ({name: e.name, code: e.code})));
            assert.deepEqual(err, {name: 'HearthError', code: 'unsupported_type'});

            await bob.page.evaluate(() => window.hearthDemo.leave());
            assert.equal((await roster(bob.page)).state, 'closed');
            const left = await until(
                alice.page,
                () => window.hearthDemo.participants().length === 0 &&
                    document.querySelectorAll('#participants li').length === 1 &&
                    document.querySelector('#log').textContent,
                null, {what: 'alice sees bob leave (participant.left)'});
            assert.match(left, /bob left \(left\)/);

            await alice.page.evaluate(() => window.hearthDemo.leave());
            const s = await roster(alice.page);
            assert.equal(s.state, 'closed');
            assert.equal(await alice.page.textContent('#status'), 'left');
        }),
    },
    {
        name: 'fetchTicket reports the server error code; a used ticket is refused at join',
        fn: () => withEnv(async env => {
            const p =
                await env.openDemo('carol', {room: 'browser-errors', user: 'carol', publish: '0'});
            const r = await p.page.evaluate(async () => {
                const {HearthClient} = window.hearthDemo;
                const out = {};
                try {
                    await HearthClient.fetchTicket(
                        location.origin, {room: 'bad room name', user: 'carol'});
                    out.badRoom = 'no error';
                } catch (e) {
                    out.badRoom = e.code;
                }
                const t = await HearthClient.fetchTicket(
                    location.origin, {room: 'browser-errors', user: 'carol'});
                out.user = t.user;
                out.version = t.protocol_version;
                const first = new HearthClient();
                out.first = (await first.join({ticket: t})).participant.user;
                await first.leave();
                const second = new HearthClient();
                try {
                    await second.join({ticket: t});
                    out.replay = 'no error';
                } catch (e) {
                    out.replay = e.code;
                }
                out.secondState = second.state;
                return out;
            });
            assert.deepEqual(r, {
                badRoom: 'bad_request',
                user: 'carol',
                version: 2,
                first: 'carol',
                replay: 'ticket_replayed',
                secondState: 'closed'
            });
        }),
    },
];

await runIfMain(import.meta.url, tests);
