/*
 * A call through the demo page, for the media tests: join and publish the fake camera and
 * microphone, wait for media from another participant, and read the subscriber PC's inbound-rtp
 * statistics per remote participant.
 *
 * Statistics come from the SDK's getStats() on the subscriber PC; an inbound-rtp stream belongs
 * to the participant whose MediaStreamTrack it feeds (client.remoteTracks, keyed by the track id
 * that inbound-rtp calls trackIdentifier), or by mid when Chromium names no track.
 */
import assert from 'node:assert/strict';

import {until} from './harness.mjs';

/** How long a page may take to receive the first media of a call. */
export const MEDIA_WAIT_MS = 30000;

/**
 * Opens the demo page as `name` in `room`, joins (autojoin) and waits for publishing to finish
 * (publish: false joins receive-only). Returns the page handle with `id` (participant id).
 */
export async function joinDemo(env, name, room, {publish = true} = {}) {
    const params = {room, user: name, autojoin: '1'};
    if (!publish) params.publish = '0';
    const p = await env.openDemo(name, params);
    await until(
        p.page,
        pub =>
            !!(window.hearthDemo.client && window.hearthDemo.client.state === 'joined' &&
               (!pub || window.hearthDemo.published)),
        publish, {what: `${name} joined${publish ? ' and publishing' : ''}`});
    const errors = await p.page.evaluate(async () => {
        await window.hearthDemo.published;
        return window.hearthDemo.errors;
    });
    assert.deepEqual(errors, [], `${name} joined and published without errors`);
    p.id = await p.page.evaluate(() => window.hearthDemo.client.participantId);
    return p;
}

/*
 * In the page: {<participant id>: {video: {...}, audio: {...}}} from the subscriber PC, the
 * inbound-rtp fields the tests look at, summed per participant and kind.
 */
export function inboundByParticipant(page) {
    return page.evaluate(async () => {
        const client = window.hearthDemo.client;
        const out = {};
        if (!client || !client.subscriberPc) return out;
        const report = await client.subscriberPc.getStats();
        const byMid = new Map([...client.remoteTracks.values()].map(t => [t.mid, t]));
        const fields = [
            'packetsReceived', 'packetsLost', 'nackCount', 'framesDecoded', 'keyFramesDecoded',
            'totalSamplesReceived', 'pliCount', 'frameWidth', 'bytesReceived',
            'retransmittedPacketsReceived', 'freezeCount'
        ];
        report.forEach(s => {
            if (s.type !== 'inbound-rtp') return;
            const t = client.remoteTracks.get(s.trackIdentifier) || byMid.get(s.mid);
            const id = t ? t.participant : 'unmapped';
            const p = out[id] || (out[id] = {});
            const k = p[s.kind] || (p[s.kind] = {streams: 0});
            k.streams++;
            for (const f of fields)
                if (typeof s[f] === 'number') k[f] = (k[f] || 0) + s[f];
        });
        return out;
    });
}

/** Waits until `page` has decoded at least `minFrames` video frames from participant `from`. */
export async function videoFrom(page, from, minFrames = 1, timeout = MEDIA_WAIT_MS) {
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
        last = await inboundByParticipant(page);
        const v = last[from] && last[from].video;
        if (v && v.framesDecoded >= minFrames) return v;
        if (Date.now() > deadline)
            throw new Error(`no ${minFrames} decoded frames from ${from} within ${
                timeout} ms; inbound-rtp: ${JSON.stringify(last)}`);
        await new Promise(r => setTimeout(r, 100));
    }
}

/*
 * Records what a page's WebSockets carry (message types; the join and resume acks' resume
 * fields; disconnect and error data: never SDP) and its ticket requests, from outside the page.
 */
export function watchWire(page) {
    const wire = {messages: [], sockets: [], tickets: []};
    page.on('websocket', ws => {
        const conn = wire.sockets.length;
        wire.sockets.push({openedAt: Date.now(), closedAt: null});
        const push = (dir, payload) => {
            let msg;
            try {
                msg = JSON.parse(payload);
            } catch {
                return;
            }
            const data = msg.data || {};
            const m = {dir, conn, at: Date.now(), type: msg.type};
            if (msg.type === 'disconnect' || msg.type === 'error') m.data = data;
            if (msg.type === 'ack' && data.participant)
                m.result = {
                    participant: data.participant.id,
                    resumed: data.resumed,
                    media: data.media,
                    token: !!(data.resume && data.resume.token),
                    restartGraceS: data.resume && data.resume.restart_grace_s,
                };
            if (dir === 'out' && msg.type === 'resume') m.media = data.media;
            wire.messages.push(m);
        };
        ws.on('framesent', f => push('out', f.payload));
        ws.on('framereceived', f => push('in', f.payload));
        ws.on('close', () => wire.sockets[conn].closedAt = Date.now());
    });
    page.on('request', r => {
        if (new URL(r.url()).pathname === '/v1/join-tickets') wire.tickets.push(Date.now());
    });
    return wire;
}

/*
 * An init script (page.addInitScript(recordMessages, {type, into})): every server message of
 * `type` the page's WebSockets receive, batched in `room.events` or not, goes to window[into]
 * as {at: Date.now() of its arrival, ...its data}.
 */
export function recordMessages({type, into}) {
    window[into] = [];
    const Base = window.WebSocket;
    window.WebSocket = class extends Base {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', m => {
                let msg;
                try {
                    msg = JSON.parse(m.data);
                } catch {
                    return;
                }
                const all = msg.type === 'room.events' ? msg.data.events : [msg];
                for (const e of all)
                    if (e.type === type) window[into].push({at: Date.now(), ...e.data});
            });
        }
    };
}

/**
 * The selected candidate pair of a page's subscriber PC, by its local candidate: {localType,
 * protocol, relayProtocol, url} (url and relayProtocol for relay candidates), and the remote
 * (server) candidate's port as remotePort; or null.
 */
export async function selectedPair(page) {
    return page.evaluate(async () => {
        const s = await window.hearthDemo.client.getStats();
        let pair = null;
        const local = new Map(), remote = new Map();
        s.subscriber.forEach(r => {
            if (r.type === 'transport' && r.selectedCandidatePairId) pair = r.selectedCandidatePairId;
            if (r.type === 'local-candidate') local.set(r.id, r);
            if (r.type === 'remote-candidate') remote.set(r.id, r);
        });
        let out = null;
        s.subscriber.forEach(r => {
            if (r.id !== pair) return;
            const c = local.get(r.localCandidateId) || {};
            out = {localType: c.candidateType, protocol: c.protocol,
                   relayProtocol: c.relayProtocol, url: c.url,
                   remotePort: (remote.get(r.remoteCandidateId) || {}).port};
        });
        return out;
    });
}

/**
 * hearthd's media worker series from /metrics: {hearth_worker_<x>: {<worker>: value}} for the
 * per-worker ones, and hearth_rooms_spread, hearth_worker_relays_started_total as numbers.
 */
export async function workerMetrics(base) {
    const text = await (await fetch(`${base}/metrics`)).text();
    const out = {};
    for (const line of text.split('\n')) {
        let m = /^(hearth_worker_[a-z_]+)\{worker="(\d+)"\} (\S+)$/.exec(line);
        if (m) (out[m[1]] ||= {})[m[2]] = Number(m[3]);
        m = /^(hearth_rooms_spread|hearth_worker_relays_started_total) (\S+)$/.exec(line);
        if (m) out[m[1]] = Number(m[2]);
    }
    return out;
}

/** Each media worker's UDP port from hearthd's log text (`media.ready ... worker=N`): {N: port}. */
export function workerPorts(log) {
    const ports = {};
    for (const m of log.matchAll(/media\.ready .*udp_port=(\d+).* worker=(\d+)/g))
        ports[m[2]] = Number(m[1]);
    return ports;
}
