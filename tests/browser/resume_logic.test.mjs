/*
 * The SDK's resume decisions (docs/protocol.md §2.4), in Node, against a scripted fake server: a
 * WebSocket double the test drives message by message and an RTCPeerConnection stub that numbers
 * mids as Chromium does (existing m-lines, then new transceivers in order, then a new data
 * channel). No browser and no hearthd: resume.test.mjs checks the real thing; this checks the
 * branches a real restart does not reach, with real timers:
 *   - when to resume: `disconnect` with `resume: true` (after retry_after_ms + jitter), a close
 *     without `disconnect` (1006), a PeerConnection `failed` or `disconnected` for 2 s (the
 *     client closes its socket itself, 4000, and asks `renew`); never after kicked, replaced,
 *     revoked, negotiation_failed, banned, timed_out, left, nor with autoResume: false, nor
 *     without a resume token (an older server);
 *   - what: the latest token (session.token), the room, `keep` when both PCs are connected
 *     (`kept`: the same PCs), else `renew` (new PCs; the publisher's tracks again at the same
 *     mids, an m-line that stopped sending kept as inactive, the data channel at its mid);
 *   - backoff: 100-250 ms, then 250 ms (+-20 %) for 10 s; a connection with no hello within
 *     1.1 s abandoned; `draining` retried after its retry_after_ms; past the grace window
 *     `disconnected` resume_failed; a refusal with rejoin (4009) `disconnected` with its code;
 *   - meanwhile: state `reconnecting`, requests and publish() reject `not_connected`; leave()
 *     stops it; participants that came or went are reported after a resume, participant.resumed
 *     as `participant-resumed`;
 *   - ICE servers (DESIGN §3): the join result's go to the PCs (with iceTransportPolicy), a
 *     pushed `ice.servers` reaches the live PCs (setConfiguration) and the `ice-servers` event,
 *     a resume's result replaces them too, and servers the caller gave join() are kept;
 *   - clusters (each socket's URL is recorded, the fake answers per URL): a join refused with
 *     `room_elsewhere` is sent again, same ticket, to its signal_url (where a later resume goes
 *     too), at most 3 times (a 4th fails join() with room_elsewhere); a resume refused with
 *     `room_elsewhere` goes to its signal_url after 100-250 ms and resumes there; a `disconnect`
 *     `moved` (resume: true) resumes at its signal_url first; an attempt that cannot connect
 *     (refused, or no hello in 1.1 s) goes to the next of [the URL last succeeded on, ...the
 *     result's cluster.signal_urls], while a server's refusal is retried at the same URL.
 *
 *   node resume_logic.test.mjs
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {repoRoot, sleep} from './harness.mjs';
import {runIfMain} from './runner.mjs';

const {HearthClient} =
    await import(pathToFileURL(path.join(repoRoot, 'clients', 'js', 'hearth.js')).href);

/* ---- an RTCPeerConnection stub ------------------------------------------------------------- */

class FakePC {
    constructor(config) {
        this.config = config;
        this.connectionState = 'new';
        this.signalingState = 'stable';
        this.localDescription = this.remoteDescription = null;
        this.transceivers = [];
        this.channels = [];
        this.sections = []; /* negotiated m-lines: {mid, kind} */
        this.nextMid = 0;
        this.offers = [];
        FakePC.all.push(this);
    }
    createDataChannel(label) {
        const dc = {label, readyState: 'connecting', binaryType: 'blob', send() {}, close() {}};
        this.channels.push(dc);
        this._negotiationNeeded();
        return dc;
    }
    addTransceiver(trackOrKind, init = {}) {
        const track = typeof trackOrKind === 'string' ? null : trackOrKind;
        const t = {
            mid: null,
            direction: init.direction,
            init,
            sender: {track},
            receiver: {track: {kind: track ? track.kind : trackOrKind}},
        };
        this.transceivers.push(t);
        this._negotiationNeeded();
        return t;
    }
    getTransceivers() {
        return [...this.transceivers];
    }
    getSenders() {
        return this.transceivers.map(t => t.sender);
    }
    removeTrack(sender) {
        sender.track = null;
        this._negotiationNeeded();
    }
    _negotiationNeeded() {
        setTimeout(() => this.onnegotiationneeded && this.onnegotiationneeded(), 0);
    }
    /* Chromium's order: the m-lines already there, new transceivers, then a new data section. */
    _plan() {
        const sections = this.sections.map(s => ({...s}));
        let next = this.nextMid;
        const pending = [];
        for (const t of this.transceivers)
            if (t.mid === null) {
                const s = {mid: String(next++), kind: t.receiver.track.kind, t};
                sections.push(s);
                pending.push(s);
            }
        if (this.channels.length && !sections.some(s => s.kind === 'application'))
            sections.push({mid: String(next++), kind: 'application'});
        return {sections, next};
    }
    async createOffer() {
        const {sections} = this._plan();
        const sdp = 'v=0\r\n' +
            sections.map(s => `m=${s.kind} 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:${s.mid}\r\n`).join('');
        return {type: 'offer', sdp};
    }
    async setLocalDescription(d) {
        if (this.signalingState === 'closed') throw new Error('closed');
        if (d.type === 'offer') {
            const {sections, next} = this._plan();
            for (const s of sections)
                if (s.t) s.t.mid = s.mid;
            this.sections = sections.map(({mid, kind}) => ({mid, kind}));
            this.nextMid = next;
            this.offers.push(d.sdp);
        }
        this.localDescription = d;
        this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable';
    }
    async setRemoteDescription(d) {
        if (this.signalingState === 'closed') throw new Error('closed');
        this.remoteDescription = d;
        this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
    }
    async createAnswer() {
        return {type: 'answer', sdp: 'v=0\r\n'};
    }
    async addIceCandidate() {}
    async getStats() {
        return new Map();
    }
    getConfiguration() {
        return {...this.config};
    }
    setConfiguration(config) {
        this.config = config;
    }
    close() {
        this.signalingState = 'closed';
        this.connectionState = 'closed';
        this.closed = true;
    }
    /* the test moves the state, as the network would */
    setState(state) {
        this.connectionState = state;
        if (this.onconnectionstatechange) this.onconnectionstatechange();
    }
}
FakePC.all = [];
globalThis.RTCPeerConnection = FakePC;

/* ---- a scripted server behind a WebSocket double ------------------------------------------ */

const WS_CONNECTING = 0, WS_OPEN = 1, WS_CLOSED = 3;

/*
 * `connect(ws)` decides what a new connection gets: 'ok' (open, hello), 'refuse' (error, close
 * 1006) or 'hang' (nothing); `onJoin(ws, msg)` answers a join (default: the result), `onResume(ws,
 * msg)` a resume (default: kept or renew as asked); all three may look at `ws.url` (a cluster's
 * nodes are URLs of the one fake). `cluster` goes into the results when set. Every socket (with
 * its URL) and message is recorded.
 */
class FakeServer {
    constructor({grace = {drop_grace_s: 20, restart_grace_s: 60}, token = 'T1', others = []} = {}) {
        this.sockets = [];
        this.grace = grace;
        this.token = token;
        this.others = others;
        this.connect = () => 'ok';
        this.onJoin = (ws, msg) => ws.reply(msg, this.result());
        this.onResume = (ws, msg) => ws.reply(
            msg,
            {...this.result(), resumed: true, media: msg.data.media === 'keep' ? 'kept' : 'renew'});
        const server = this;
        this.WebSocket = class {
            constructor(url) {
                this.url = url;
                this.readyState = WS_CONNECTING;
                this.sent = [];
                this.closedWith = null;
                this.openedAt = Date.now();
                server.sockets.push(this);
                const how = server.connect(this);
                setTimeout(() => {
                    if (this.readyState !== WS_CONNECTING) return;
                    if (how === 'ok') {
                        this.readyState = WS_OPEN;
                        this.push('hello', {version: 2, limits: {max_message_bytes: 65536}});
                    } else if (how === 'refuse') {
                        this.readyState = WS_CLOSED;
                        if (this.onerror) this.onerror({});
                        if (this.onclose) this.onclose({code: 1006});
                    }
                }, 5);
            }
            send(text) {
                const msg = JSON.parse(text);
                this.sent.push(msg);
                setTimeout(() => server.receive(this, msg), 1);
            }
            close(code = 1000) {
                if (this.readyState === WS_CLOSED) return;
                this.readyState = WS_CLOSED;
                this.closedWith = code;
                setTimeout(() => this.onclose && this.onclose({code}), 1);
            }
            /* the server's side */
            push(type, data, id) {
                if (this.readyState !== WS_OPEN || !this.onmessage) return;
                const m = {type, data};
                if (id !== undefined) m.id = id;
                this.onmessage({data: JSON.stringify(m)});
            }
            reply(req, data) {
                this.push('ack', data, req.id);
            }
            refuse(req, data) {
                this.push('error', data, req.id);
            }
            drop(code) {
                if (this.readyState === WS_CLOSED) return;
                this.readyState = WS_CLOSED;
                if (this.onclose) this.onclose({code});
            }
        };
    }
    result() {
        return {
            participant: {id: 'p_me', user: 'me', device: 'default'},
            grants: ['publish', 'subscribe', 'data'],
            room: {name: 'r', participants: this.others, tracks: []},
            resume: this.token ? {token: this.token, ...this.grace} : undefined,
            ice_servers: this.iceServers,
            cluster: this.cluster,
        };
    }
    receive(ws, msg) {
        if (ws.readyState !== WS_OPEN) return;
        switch (msg.type) {
        case 'join':
            return this.onJoin(ws, msg);
        case 'resume':
            return this.onResume(ws, msg);
        case 'sdp.offer':
            return ws.reply(msg, {type: 'answer', sdp: 'v=0\r\n'});
        case 'leave':
            ws.reply(msg, {});
            return ws.drop(1000);
        default:
            return ws.reply(msg, {});
        }
    }
    get last() {
        return this.sockets.at(-1);
    }
    resumes() {
        return this.sockets.flatMap(s => s.sent.filter(m => m.type === 'resume'));
    }
    /* the URLs of the sockets a resume (or join) was sent on, in order */
    urlsOf(type) {
        return this.sockets.filter(s => s.sent.some(m => m.type === type)).map(s => s.url);
    }
}

/* a cluster's nodes, as signal URLs (NODE_A is where joined() goes) */
const NODE_A = 'ws://fake/v1/signal?v=2', NODE_B = 'ws://127.0.0.1:7881/v1/signal?v=2',
      NODE_C = 'ws://127.0.0.1:7882/v1/signal?v=2';

/* A joined client with its PCs connected; `events` records every event of interest. */
async function joined(server, options = {}) {
    const c = new HearthClient({WebSocket: server.WebSocket, ...options});
    server.client = c; /* for a scripted answer that looks at the client */
    const events = [];
    for (const type of
             ['reconnecting', 'reconnected', 'disconnected', 'participant-joined',
              'participant-left', 'participant-resumed', 'error'])
        c.addEventListener(type, e => events.push({type, at: Date.now(), ...e.detail}));
    await c.join({ticket: 'tk', signalUrl: NODE_A, room: 'r'});
    await sleep(20); /* the data channel's negotiation */
    c.publisherPc.setState('connected');
    c.subscriberPc.setState('connected');
    return {c, events};
}

async function waitFor(what, fn, timeout = 8000) {
    const deadline = Date.now() + timeout;
    for (;;) {
        const v = fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(10);
    }
}

const of = (events, type) => events.filter(e => e.type === type);

export const tests = [
    {
        name: 'drain: resume after retry_after_ms with the latest token; connected PCs are kept',
        fn: async () => {
            const server = new FakeServer({others: [{id: 'p_bob', user: 'bob'}]});
            const {c, events} = await joined(server);
            const [pub, sub] = [c.publisherPc, c.subscriberPc];
            server.last.push('session.token', {token: 'T2'});
            server.last.push('disconnect', {reason: 'shutdown', resume: true, retry_after_ms: 300});
            const dropAt = Date.now();
            server.last.drop(1001);
            assert.equal(c.state, 'reconnecting');
            assert.deepEqual(
                of(events, 'reconnecting').map(e => [e.attempt, e.reason, e.code]),
                [[1, 'shutdown', 1001]]);
            const {delayMs} = of(events, 'reconnecting')[0];
            assert.ok(delayMs >= 300 && delayMs <= 550, `retry_after_ms + jitter: ${delayMs}`);
            assert.equal(await c.request('room.info').catch(e => e.code), 'not_connected');
            assert.equal(
                await c.publish({getTracks: () => []}).catch(e => e.code), 'not_connected');
            await waitFor('reconnected', () => of(events, 'reconnected').length);
            const resumes = server.resumes();
            assert.deepEqual(resumes.map(m => m.data), [{token: 'T2', room: 'r', media: 'keep'}]);
            assert.ok(server.sockets[1].openedAt - dropAt >= 290, 'not before retry_after_ms');
            assert.equal(of(events, 'reconnected')[0].media, 'kept');
            assert.equal(c.state, 'joined');
            assert.ok(c.publisherPc === pub && c.subscriberPc === sub, 'the same PCs');
            assert.equal(server.sockets.length, 2);
            /* back to normal: requests work, and the next drop resumes with the newest token */
            assert.deepEqual(await c.request('room.info'), {});
            server.last.push('participant.resumed', {participant: {id: 'p_bob', user: 'bob'}});
            assert.deepEqual(
                of(events, 'participant-resumed').map(e => e.participant.id), ['p_bob']);
            server.last.drop(1006);
            await waitFor('second resume', () => server.resumes().length === 2);
            assert.equal(
                server.resumes()[1].data.token, 'T1', 'the token of the last resume result');
            await waitFor('reconnected twice', () => of(events, 'reconnected').length === 2);
            assert.deepEqual(of(events, 'disconnected'), []);
            assert.deepEqual(
                of(events, 'participant-left').concat(of(events, 'participant-joined')), []);
            await c.leave();
        },
    },
    {
        name:
            'a dead socket: backoff 100-250, then 250 ms; renew: tracks again at their mids',
        fn: async () => {
            const server = new FakeServer({others: [{id: 'p_bob', user: 'bob'}]});
            const {c, events} = await joined(server);
            const tracks =
                [{kind: 'audio', id: 'a1'}, {kind: 'video', id: 'v1'}, {kind: 'video', id: 'v2'}];
            const stream = {id: 's1', getTracks: () => tracks};
            await c.publish(stream, {simulcast: true});
            await c.unpublish(tracks[1]); /* its m-line stays: inactive */
            const oldPub = c.publisherPc;
            const before =
                oldPub.getTransceivers().map(t => [t.mid, t.sender.track && t.sender.track.id]);
            const sectionsBefore = oldPub.sections;
            assert.deepEqual(
                sectionsBefore.map(s => `${s.mid}:${s.kind}`),
                ['0:application', '1:audio', '2:video', '3:video']);
            let refused = 0;
            server.connect = () => (refused++ < 3 ? 'refuse' : 'ok');
            server.others = [{id: 'p_carol', user: 'carol'}]; /* bob left, carol came meanwhile */
            c.subscriberPc.setState('disconnected');
            server.last.drop(1006);
            await waitFor('reconnected', () => of(events, 'reconnected').length, 10000);
            const delays = of(events, 'reconnecting').map(e => e.delayMs);
            assert.equal(delays.length, 4, `four attempts: ${delays}`);
            assert.ok(delays[0] >= 100 && delays[0] <= 250, `first ${delays[0]}`);
            assert.ok(delays[1] >= 200 && delays[1] <= 300, `second ${delays[1]}`);
            assert.ok(delays[2] >= 200 && delays[2] <= 300, `third ${delays[2]}`);
            assert.ok(delays[3] >= 200 && delays[3] <= 300, `fourth ${delays[3]}`);
            assert.deepEqual(
                of(events, 'reconnecting').map(e => [e.reason, e.code]).at(0), ['closed', 1006]);
            assert.deepEqual(server.resumes().map(m => m.data.media), ['renew'], 'a PC was down');
            assert.equal(of(events, 'reconnected')[0].media, 'renew');
            assert.ok(oldPub.closed, 'the old publisher PC is closed');
            await waitFor(
                'restored',
                () => c._restoring === null && c.publisherPc.signalingState === 'stable' &&
                    c.publisherPc.offers.length >= 2);
            const pub = c.publisherPc;
            assert.notEqual(pub, oldPub);
            assert.deepEqual(pub.sections, sectionsBefore, 'the same m-lines, in the same order');
            assert.deepEqual(
                pub.getTransceivers().map(t => [t.mid, t.sender.track && t.sender.track.id]),
                before);
            const enc = pub.getTransceivers().map(t => [t.direction, !!t.init.sendEncodings]);
            assert.deepEqual(enc, [['sendonly', false], ['inactive', false], ['sendonly', true]]);
            assert.equal(pub.getTransceivers()[0].init.streams[0], stream);
            assert.equal(pub.channels.length, 1, 'a new data channel');
            assert.deepEqual(
                of(events, 'participant-left').map(e => [e.participant.id, e.reason]),
                [['p_bob', 'unknown']]);
            assert.deepEqual(
                of(events, 'participant-joined').map(e => e.participant.id), ['p_carol']);
            assert.deepEqual([...c.participants.keys()], ['p_carol']);
            /* a later publish() goes after them */
            await c.publish({getTracks: () => [{kind: 'audio', id: 'a3'}]});
            assert.equal(pub.getTransceivers().at(-1).mid, '4');
            assert.deepEqual(of(events, 'error'), []);
            await c.leave();
        },
    },
    {
        name: 'a connection with no hello is abandoned after 1.1 s',
        fn: async () => {
            const server = new FakeServer();
            const {c, events} = await joined(server);
            let n = 0;
            server.connect = () => (n++ === 0 ? 'hang' : 'ok');
            server.last.drop(1006);
            await waitFor('reconnected', () => of(events, 'reconnected').length);
            const hung = server.sockets[1], next = server.sockets[2];
            assert.equal(hung.closedWith, 4000, 'the hanging attempt was closed (not a leave)');
            const gap = next.openedAt - hung.openedAt;
            assert.ok(gap >= 1100 + 200 && gap < 1100 + 400, `the next attempt ${gap} ms later`);
            assert.equal(server.resumes().length, 1);
            await c.leave();
        },
    },
    {
        name: 'a refusal with rejoin (4009) ends the session with its code',
        fn: async () => {
            const server = new FakeServer();
            const {c, events} = await joined(server);
            server.onResume = (ws, msg) => {
                ws.refuse(msg, {code: 'resume_expired', message: 'too late', rejoin: true});
                ws.drop(4009);
            };
            server.last.drop(1006);
            await waitFor('disconnected', () => of(events, 'disconnected').length);
            assert.deepEqual(
                of(events, 'disconnected').map(e => [e.reason, e.code, e.message]),
                [['resume_expired', 4009, 'too late']]);
            assert.equal(c.state, 'closed');
            await sleep(400);
            assert.equal(server.sockets.length, 2, 'no further attempt');
        },
    },
    {
        name: 'draining: tried again after its retry_after_ms',
        fn: async () => {
            const server = new FakeServer();
            const {c, events} = await joined(server);
            let n = 0;
            server.onResume = (ws, msg) => {
                if (n++ === 0) {
                    ws.refuse(msg, {code: 'draining', message: 'stopping', retry_after_ms: 600});
                    ws.drop(1001);
                } else {
                    ws.reply(msg, {...server.result(), resumed: true, media: 'kept'});
                }
            };
            server.last.drop(1006);
            await waitFor('reconnected', () => of(events, 'reconnected').length);
            const delays = of(events, 'reconnecting').map(e => e.delayMs);
            assert.equal(delays.length, 2);
            assert.ok(delays[1] >= 600 && delays[1] <= 850, `after retry_after_ms: ${delays[1]}`);
            assert.deepEqual(of(events, 'disconnected'), []);
            await c.leave();
        },
    },
    {
        name: 'past the grace window: disconnected, resume_failed',
        fn: async () => {
            const server = new FakeServer({grace: {drop_grace_s: 1, restart_grace_s: 2}});
            const {c, events} = await joined(server);
            server.connect = () => 'refuse';
            const dropAt = Date.now();
            server.last.drop(1006);
            await waitFor('disconnected', () => of(events, 'disconnected').length, 6000);
            const d = of(events, 'disconnected')[0];
            assert.equal(d.reason, 'resume_failed');
            assert.equal(d.code, 1006);
            const took = d.at - dropAt;
            assert.ok(
                took >= 2000 && took < 3300, `gave up ${took} ms after the drop (window 2 s)`);
            assert.equal(c.state, 'closed');
        },
    },
    {
        name: 'never resumed: final reasons, autoResume false, no token, an unknown refusal',
        fn: async () => {
            const cases = [
                ['kicked', 4008], ['banned', 4008], ['timed_out', 4008], ['replaced', 4004],
                ['revoked', 4005], ['negotiation_failed', 4007], ['left', 1000]
            ];
            for (const [reason, code] of cases) {
                const server = new FakeServer();
                const {c, events} = await joined(server);
                server.last.push('disconnect', {reason, message: reason});
                server.last.drop(code);
                assert.deepEqual(
                    of(events, 'disconnected').map(e => [e.reason, e.code]), [[reason, code]]);
                assert.deepEqual(of(events, 'reconnecting'), [], reason);
                assert.equal(c.state, 'closed');
            }
            {
                const server = new FakeServer();
                const {events} = await joined(server, {autoResume: false});
                server.last.drop(1006);
                assert.deepEqual(
                    of(events, 'disconnected').map(e => [e.reason, e.code]), [['closed', 1006]]);
            }
            {
                const server = new FakeServer({token: null}); /* an older server */
                const {events} = await joined(server);
                server.last.drop(1001);
                assert.deepEqual(
                    of(events, 'disconnected').map(e => [e.reason, e.code]), [['closed', 1001]]);
            }
            {
                const server = new FakeServer();
                const {events} = await joined(server);
                server.onResume = (ws, msg) =>
                    ws.refuse(msg, {code: 'unsupported_type', message: 'no'});
                server.last.drop(1006);
                await waitFor('disconnected', () => of(events, 'disconnected').length);
                assert.deepEqual(
                    of(events, 'disconnected').map(e => e.reason), ['unsupported_type']);
                assert.equal(server.sockets.at(-1).closedWith, 1000);
            }
            await sleep(300);
        },
    },
    {
        name: 'leave() while reconnecting stops it',
        fn: async () => {
            const server = new FakeServer();
            const {c, events} = await joined(server);
            server.connect = () => 'refuse';
            server.last.drop(1006);
            await waitFor('an attempt', () => server.sockets.length >= 3);
            await c.leave();
            const n = server.sockets.length;
            assert.deepEqual(
                of(events, 'disconnected').map(e => [e.reason, e.code]), [['left', 1000]]);
            await sleep(1300);
            assert.equal(server.sockets.length, n, 'no attempt after leave()');
        },
    },
    {
        name:
            'a PC failed, or disconnected for 2 s: the client closes its socket and resumes, renew',
        fn: async () => {
            for (const [state, min] of [['failed', 0], ['disconnected', 2000]]) {
                const server = new FakeServer();
                const {c, events} = await joined(server);
                const ws = server.last, oldSub = c.subscriberPc;
                const at = Date.now();
                c.publisherPc.setState(state);
                await waitFor('reconnecting', () => of(events, 'reconnecting').length, 4000);
                const waited = Date.now() - at;
                assert.ok(waited >= min && waited < min + 500, `${state}: after ${waited} ms`);
                assert.equal(of(events, 'reconnecting')[0].reason, `media_${state}`);
                assert.equal(ws.closedWith, 4000, 'the client closed its socket to resume');
                await waitFor('reconnected', () => of(events, 'reconnected').length);
                assert.deepEqual(server.resumes().map(m => m.data.media), ['renew']);
                assert.equal(of(events, 'reconnected')[0].media, 'renew');
                assert.ok(oldSub.closed && c.subscriberPc !== oldSub, 'a new subscriber PC');
                await c.leave();
            }
            {
                /* disconnected, then connected again within 2 s: nothing happens */
                const server = new FakeServer();
                const {c, events} = await joined(server);
                c.subscriberPc.setState('disconnected');
                await sleep(1000);
                c.subscriberPc.setState('connected');
                await sleep(1500);
                assert.deepEqual(of(events, 'reconnecting'), []);
                await c.leave();
            }
        },
    },
    {
        name: 'ICE servers: the join result\'s, refreshed by ice.servers and by a resume',
        fn: async () => {
            const turn = cred => [{urls: ['turn:127.0.0.1:3478?transport=udp'],
                                   username: `${cred}:me`, credential: `pw${cred}`}];
            const server = new FakeServer();
            server.iceServers = turn(1);
            const c = new HearthClient({WebSocket: server.WebSocket});
            const seen = [];
            c.addEventListener('ice-servers', e => seen.push(e.detail.iceServers));
            await c.join({ticket: 'tk', signalUrl: 'ws://fake/v1/signal?v=2', room: 'r',
                          iceTransportPolicy: 'relay'});
            await sleep(20);
            for (const pc of [c.publisherPc, c.subscriberPc]) {
                assert.deepEqual(pc.config.iceServers, turn(1), 'the join result\'s servers');
                assert.equal(pc.config.iceTransportPolicy, 'relay');
            }
            server.last.push('ice.servers', {ice_servers: turn(2)});
            for (const pc of [c.publisherPc, c.subscriberPc]) {
                assert.deepEqual(pc.config.iceServers, turn(2), 'pushed to the live PCs');
                assert.equal(pc.config.iceTransportPolicy, 'relay', 'the rest kept');
            }
            assert.deepEqual(seen.at(-1), turn(2));
            /* a resume's result (renew: new PCs) brings the next */
            server.iceServers = turn(3);
            c.publisherPc.setState('connected');
            c.subscriberPc.setState('connected');
            server.last.drop(1006);
            await waitFor('reconnected', () => c.state === 'joined' && server.sockets.length === 2);
            await sleep(20);
            for (const pc of [c.publisherPc, c.subscriberPc])
                assert.deepEqual(pc.config.iceServers, turn(3), 'the resume result\'s servers');
            await c.leave();

            /* servers the caller chose stay */
            const server2 = new FakeServer();
            server2.iceServers = turn(4);
            const mine = [{urls: ['stun:stun.example.org:3478']}];
            const c2 = new HearthClient({WebSocket: server2.WebSocket});
            await c2.join({ticket: 'tk', signalUrl: 'ws://fake/v1/signal?v=2', room: 'r',
                           iceServers: mine});
            await sleep(20);
            server2.last.push('ice.servers', {ice_servers: turn(5)});
            assert.deepEqual(c2.publisherPc.config.iceServers, mine);
            await c2.leave();
        },
    },
    {
        name: 'cluster: a join refused with room_elsewhere is sent again, same ticket, to its URL',
        fn: async () => {
            const server = new FakeServer();
            let stateAtB = null;
            server.onJoin = (ws, msg) => {
                if (ws.url === NODE_B) {
                    stateAtB = server.client.state;
                    return ws.reply(msg, server.result());
                }
                ws.refuse(msg, {code: 'room_elsewhere', message: 'on b', signal_url: NODE_B});
                ws.drop(1000); /* at once: join() must not take this close for the end */
            };
            const {c, events} = await joined(server);
            assert.deepEqual(server.sockets.map(s => s.url), [NODE_A, NODE_B]);
            assert.equal(stateAtB, 'connecting', 'still joining while redirected');
            const joins = server.sockets.map(s => s.sent.filter(m => m.type === 'join'));
            assert.deepEqual(joins.map(j => j.length), [1, 1]);
            assert.deepEqual(joins[0][0].data, {ticket: 'tk', room: 'r', event_batch: true});
            assert.deepEqual(joins[1][0].data, joins[0][0].data, 'the same join, same ticket');
            assert.equal(c.state, 'joined');
            assert.equal(c.participantId, 'p_me');
            /* the session is on b now: a drop resumes there */
            server.last.drop(1006);
            await waitFor('reconnected', () => of(events, 'reconnected').length);
            assert.deepEqual(server.sockets.slice(2).map(s => s.url), [NODE_B]);
            assert.deepEqual(server.urlsOf('resume'), [NODE_B]);
            assert.deepEqual(of(events, 'disconnected'), []);
            assert.deepEqual(of(events, 'error'), []);
            await c.leave();
        },
    },
    {
        name: 'cluster: a 4th room_elsewhere fails join() with it (a redirect loop)',
        fn: async () => {
            const server = new FakeServer();
            const node = n => `ws://127.0.0.1:${7880 + n}/v1/signal?v=2`;
            let n = 0;
            server.onJoin = (ws, msg) => {
                ws.refuse(
                    msg, {code: 'room_elsewhere', message: 'elsewhere', signal_url: node(++n)});
                ws.drop(4000);
            };
            const c = new HearthClient({WebSocket: server.WebSocket});
            const err = await c.join({ticket: 'tk', signalUrl: NODE_A, room: 'r'})
                            .then(() => null, e => e);
            assert.ok(err, 'join() rejected');
            assert.equal(err.name, 'HearthError');
            assert.equal(err.code, 'room_elsewhere');
            assert.equal(err.data.signal_url, node(4), 'the 4th refusal, not followed');
            assert.deepEqual(server.urlsOf('join'), [NODE_A, node(1), node(2), node(3)]);
            assert.equal(c.state, 'closed');
            await sleep(300);
            assert.equal(server.sockets.length, 4, 'nothing after');
        },
    },
    {
        name: 'cluster: a resume refused with room_elsewhere is sent to its URL at once',
        fn: async () => {
            const server = new FakeServer();
            const {c, events} = await joined(server);
            const states = [];
            for (const type of ['reconnecting', 'reconnected'])
                c.addEventListener(type, () => states.push([type, c.state]));
            const resume = server.onResume;
            server.onResume = (ws, msg) => {
                if (ws.url === NODE_B) return resume(ws, msg);
                ws.refuse(msg, {code: 'room_elsewhere', message: 'on b', rejoin: false,
                                signal_url: NODE_B});
                ws.drop(1000); /* a final code without it: not a reason to stop either */
            };
            server.last.drop(1006);
            assert.equal(c.state, 'reconnecting');
            await waitFor('reconnected', () => of(events, 'reconnected').length);
            assert.deepEqual(server.urlsOf('resume'), [NODE_A, NODE_B]);
            const delays = of(events, 'reconnecting').map(e => e.delayMs);
            assert.equal(delays.length, 2);
            assert.ok(delays[1] >= 100 && delays[1] <= 250, `promptly: ${delays[1]}`);
            assert.deepEqual(states, [['reconnecting', 'reconnecting'],
                                      ['reconnecting', 'reconnecting'], ['reconnected', 'joined']]);
            assert.deepEqual(of(events, 'reconnected').map(e => [e.media, e.attempts]),
                             [['kept', 2]]);
            assert.deepEqual(of(events, 'disconnected'), []);
            assert.equal(c.state, 'joined');
            /* the session is on b now */
            server.last.drop(1006);
            await waitFor('reconnected twice', () => of(events, 'reconnected').length === 2);
            assert.deepEqual(server.urlsOf('resume'), [NODE_A, NODE_B, NODE_B]);
            await c.leave();
        },
    },
    {
        name: 'cluster: disconnect `moved` resumes at its signal_url first',
        fn: async () => {
            const server = new FakeServer();
            const {c, events} = await joined(server);
            server.last.push('disconnect', {reason: 'moved', message: 'the room moved',
                                            resume: true, signal_url: NODE_B, retry_after_ms: 0});
            server.last.drop(1000);
            assert.equal(c.state, 'reconnecting');
            assert.deepEqual(of(events, 'reconnecting').map(e => [e.attempt, e.reason, e.code]),
                             [[1, 'moved', 1000]]);
            const {delayMs} = of(events, 'reconnecting')[0];
            assert.ok(delayMs >= 0 && delayMs <= 250, `retry_after_ms 0 + jitter: ${delayMs}`);
            await waitFor('reconnected', () => of(events, 'reconnected').length);
            assert.deepEqual(server.sockets.slice(1).map(s => s.url), [NODE_B], 'no attempt at a');
            assert.deepEqual(server.resumes().map(m => m.data.media), ['keep']);
            assert.deepEqual(of(events, 'disconnected'), []);
            await c.leave();
        },
    },
    {
        name: 'cluster: an attempt that cannot connect goes to the next of cluster.signal_urls',
        fn: async () => {
            const server = new FakeServer();
            server.cluster = {node: 'a', signal_urls: [NODE_B, NODE_C]};
            const {c, events} = await joined(server);
            /* a is dead (refused), b hangs (no hello in 1.1 s), c is up and sees a and b */
            server.connect = ws =>
                (ws.url === NODE_A ? 'refuse' : ws.url === NODE_B ? 'hang' : 'ok');
            server.cluster = {node: 'c', signal_urls: [NODE_A, NODE_B]};
            server.last.drop(1006);
            await waitFor('reconnected', () => of(events, 'reconnected').length);
            assert.deepEqual(server.sockets.slice(1).map(s => s.url), [NODE_A, NODE_B, NODE_C]);
            assert.equal(server.sockets[2].closedWith, 4000, 'the hanging attempt abandoned');
            assert.deepEqual(server.urlsOf('resume'), [NODE_C]);
            assert.deepEqual(of(events, 'reconnected').map(e => e.attempts), [3]);
            /* c, where it last succeeded, comes first; a server's refusal stays there */
            const resume = server.onResume;
            let n = 0;
            server.onResume = (ws, msg) =>
                (n++ === 0 ? ws.refuse(msg, {code: 'internal_error', message: 'busy'})
                           : resume(ws, msg));
            server.last.drop(1006);
            await waitFor('reconnected twice', () => of(events, 'reconnected').length === 2);
            assert.deepEqual(server.sockets.slice(4).map(s => s.url), [NODE_C, NODE_C]);
            assert.deepEqual(of(events, 'disconnected'), []);
            await c.leave();
        },
    },
];

await runIfMain(import.meta.url, tests);
