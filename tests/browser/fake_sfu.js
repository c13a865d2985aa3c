/*
 * A stand-in for hearthd's media plane that runs inside a browser page, so the SDK's media
 * logic can be tested against real WebRTC peers before the real SFU exists. It is the protocol
 * of brief/docs (version 2 media additions) seen from the server side, built from Chromium's
 * own RTCPeerConnections:
 *
 *   - FakeHearth.room() makes a room; room.WebSocket is a class HearthClient accepts as its
 *     `WebSocket` option. Each instance is one signaling session; messages are delivered
 *     asynchronously, as JSON text, like a real socket.
 *   - Per session, the server keeps two PCs: `pub` answers the client's publisher offers
 *     (ontrack -> track.published to everyone else, and the track is added to every other
 *     session's `sub`), and `sub` offers to the client's subscriber PC, one revision at a time.
 *     Its offers are rewritten so that a=msid names the publishing participant as the stream and
 *     the server's track id as the track, as hearthd does.
 *   - Candidates trickle both ways; the server's are sent as soon as they are gathered (so they
 *     can reach the client before its remote description is set).
 *   - The "hearth" data channel the client opens is relayed to every other session's server
 *     channel as `<sender id>\n<payload>`, text as text, binary as binary.
 *
 * It is a test double, not a model of hearthd's internals: it re-encodes forwarded media (a
 * browser cannot forward RTP) and has no limits. Tests read `room.log` (every message, both
 * directions) and `room.offers` (the publisher offers received).
 */
(() => {
    'use strict';

    class Room {
        constructor(name = 'fake') {
            this.name = name;
            this.sessions = new Map();
            this.tracks = new Map();
            this.log = [];
            this.offers = [];
            this.nextId = 1;
            const room = this;
            this.WebSocket = class FakeSocket {
                constructor(url) {
                    this.url = url;
                    this.readyState = 0;
                    this.onmessage = this.onclose = this.onerror = this.onopen = null;
                    this.session = new Session(room, this);
                    setTimeout(() => {
                        this.readyState = 1;
                        if (this.onopen) this.onopen({});
                        this.session.send({
                            type: 'hello',
                            data: {
                                version: 2,
                                versions: {min: 1, max: 2},
                                server: 'fake-sfu',
                                limits: {max_message_bytes: 65536}
                            }
                        });
                    }, 0);
                }

                send(text) {
                    if (this.readyState !== 1) throw new Error('FakeSocket: not open');
                    setTimeout(() => this.session.receive(text), 0);
                }

                close(code = 1000) {
                    this.session.end('closed', code);
                }
            };
        }

        others(session) {
            return [...this.sessions.values()].filter(s => s !== session && s.joined);
        }
    }

    class Session {
        constructor(room, socket) {
            this.room = room;
            this.socket = socket;
            this.joined = false;
            this.id = null;
            this.user = null;
            this.pub = null;
            this.sub = null;
            this.subChannel = null;
            this.revision = 0;
            this.awaitingAnswer = false;
            this.dirty = false;
            this.pendingCandidates = {publisher: [], subscriber: []};
            this.msidMap = new Map(); /* local stream/track id of sub's senders -> server ids */
        }

        send(msg) {
            if (this.socket.readyState !== 1) return;
            const text = JSON.stringify(msg);
            this.room.log.push({dir: 'out', session: this.id, msg});
            setTimeout(() => {
                if (this.socket.readyState === 1 && this.socket.onmessage)
                    this.socket.onmessage({data: text});
            }, 0);
        }

        ack(id, data = {}) {
            this.send({type: 'ack', id, data});
        }

        error(id, code, message) {
            this.send({type: 'error', id, data: {code, message}});
        }

        async receive(text) {
            const msg = JSON.parse(text);
            this.room.log.push({dir: 'in', session: this.id, msg});
            const d = msg.data || {};
            try {
                switch (msg.type) {
                case 'join':
                    return this.join(msg.id, d);
                case 'leave':
                    this.leaving = true; /* the client closes the socket on the ack */
                    this.ack(msg.id);
                    return setTimeout(() => this.end('left', 1000), 0);
                case 'sdp.offer':
                    return await this.onPublisherOffer(msg.id, d);
                case 'sdp.answer':
                    return await this.onSubscriberAnswer(msg.id, d);
                case 'ice.candidate':
                    return await this.onCandidate(msg.id, d);
                case 'room.info':
                    return this.ack(msg.id, {room: this.roomObject(true)});
                case 'track.subscribe':
                case 'track.unsubscribe':
                case 'track.pause':
                case 'track.resume':
                case 'track.layer':
                    if (!this.room.tracks.has(d.track))
                        return this.error(msg.id, 'unknown_track', d.track);
                    return this.ack(msg.id);
                default:
                    return this.error(msg.id, 'unsupported_type', msg.type);
                }
            } catch (e) {
                this.error(msg.id, 'negotiation_failed', String(e));
            }
        }

        participant() {
            return {id: this.id, user: this.user, device: 'default', joined_at_ms: 0};
        }

        roomObject(includeSelf) {
            const ps = this.room.others(this).map(s => s.participant());
            if (includeSelf) ps.unshift(this.participant());
            return {
                name: this.room.name,
                max_participants: 50,
                participants: ps,
                tracks: [...this.room.tracks.values()]
                            .filter(t => t.participant !== this.id)
                            .map(t => t.info)
            };
        }

        join(id, d) {
            if (this.joined) return this.error(id, 'already_joined', '');
            this.id = `p_fake${this.room.nextId++}`;
            this.user = String(d.ticket).replace(/^user:/, '');
            this.ack(id, {
                participant: this.participant(),
                grants: ['publish', 'subscribe', 'data'],
                room: this.roomObject(false)
            });
            this.joined = true;
            this.room.sessions.set(this.id, this);
            for (const o of this.room.others(this))
                o.send({type: 'participant.joined', data: {participant: this.participant()}});

            this.pub = this.makePc('publisher');
            this.pub.ontrack = ev => this.onPublishedTrack(ev);
            this.pub.ondatachannel = ev => {
                ev.channel.binaryType = 'arraybuffer';
                ev.channel.onmessage = m => this.relay(m.data);
            };
            this.sub = this.makePc('subscriber');
            this.subChannel = this.sub.createDataChannel('hearth', {ordered: true});
            this.subChannel.binaryType = 'arraybuffer';
            for (const t of this.room.tracks.values()) this.addForwarded(t);
            this.renegotiate();
        }

        makePc(name) {
            const pc =
                new RTCPeerConnection({bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
            pc.onicecandidate = ev => this.send({
                type: 'ice.candidate',
                data: {
                    pc: name,
                    candidate: ev.candidate ? ev.candidate.candidate : '',
                    sdp_mid: ev.candidate ? ev.candidate.sdpMid : '0'
                }
            });
            pc.onconnectionstatechange = () => {
                if (['connected', 'disconnected', 'failed', 'closed'].includes(pc.connectionState))
                    this.send({type: 'media.state', data: {pc: name, state: pc.connectionState}});
            };
            return pc;
        }

        async onPublisherOffer(id, d) {
            if (d.pc !== 'publisher') return this.error(id, 'bad_request', 'pc');
            this.room.offers.push(d.sdp);
            await this.pub.setRemoteDescription({type: 'offer', sdp: d.sdp});
            await this.flushCandidates('publisher');
            await this.pub.setLocalDescription(await this.pub.createAnswer());
            this.ack(id, {type: 'answer', sdp: this.pub.localDescription.sdp});
        }

        onPublishedTrack(ev) {
            const trackId = `TR_${this.id}_${ev.track.kind}`;
            const info = {
                id: trackId,
                participant: this.id,
                kind: ev.track.kind,
                stream: this.id,
                mid: ev.transceiver.mid
            };
            /* Chromium sends a received audio track on only while something plays it */
            if (ev.track.kind === 'audio') {
                const sink = new Audio();
                sink.srcObject = new MediaStream([ev.track]);
                sink.play().catch(() => {});
            }
            const t = {info, participant: this.id, track: ev.track};
            this.room.tracks.set(trackId, t);
            for (const o of this.room.others(this)) {
                o.send({type: 'track.published', data: {track: info}});
                o.addForwarded(t);
                o.renegotiate();
            }
        }

        addForwarded(t) {
            if (t.participant === this.id) return;
            const stream = new MediaStream();
            const sender = this.sub.addTrack(t.track, stream);
            this.msidMap.set(stream.id, t.participant);
            this.msidMap.set(sender.track.id, t.info.id);
        }

        /* a=msid:<stream> <track> and a=ssrc:N msid:... name the participant and server track. */
        rewriteMsid(sdp) {
            return sdp.replace(
                /msid:(\S+) (\S+)/g,
                (all, s, t) => `msid:${this.msidMap.get(s) || s} ${this.msidMap.get(t) || t}`);
        }

        async renegotiate() {
            if (this.awaitingAnswer) {
                this.dirty = true;
                return;
            }
            this.awaitingAnswer = true;
            this.dirty = false;
            await this.sub.setLocalDescription(await this.sub.createOffer());
            this.revision++;
            this.send({
                type: 'sdp.offer',
                data: {
                    pc: 'subscriber',
                    sdp: this.rewriteMsid(this.sub.localDescription.sdp),
                    revision: this.revision
                }
            });
        }

        async onSubscriberAnswer(id, d) {
            if (d.pc !== 'subscriber' || d.revision !== this.revision || !this.awaitingAnswer)
                return this.error(id, 'negotiation_failed', `unexpected revision ${d.revision}`);
            await this.sub.setRemoteDescription({type: 'answer', sdp: d.sdp});
            await this.flushCandidates('subscriber');
            this.ack(id);
            this.awaitingAnswer = false;
            if (this.dirty) this.renegotiate();
        }

        async onCandidate(id, d) {
            const pc = d.pc === 'publisher' ? this.pub : d.pc === 'subscriber' ? this.sub : null;
            if (!pc) return this.error(id, 'bad_request', 'pc');
            const init = {candidate: d.candidate, sdpMid: d.sdp_mid};
            if (pc.remoteDescription)
                await pc.addIceCandidate(init);
            else
                this.pendingCandidates[d.pc].push(init);
            this.ack(id);
        }

        async flushCandidates(name) {
            const pc = name === 'publisher' ? this.pub : this.sub;
            for (const c of this.pendingCandidates[name].splice(0)) await pc.addIceCandidate(c);
        }

        relay(payload) {
            let out;
            if (typeof payload === 'string') {
                out = `${this.id}\n${payload}`;
            } else {
                const head = new TextEncoder().encode(`${this.id}\n`);
                const buf = new Uint8Array(head.length + payload.byteLength);
                buf.set(head, 0);
                buf.set(new Uint8Array(payload), head.length);
                out = buf.buffer;
            }
            for (const o of this.room.others(this))
                if (o.subChannel && o.subChannel.readyState === 'open') o.subChannel.send(out);
        }

        end(reason, code) {
            if (this.socket.readyState === 3) return;
            const wasJoined = this.joined;
            if (this.leaving) reason = 'left';
            this.joined = false;
            this.room.sessions.delete(this.id);
            for (const pc of [this.pub, this.sub])
                if (pc) pc.close();
            if (wasJoined) {
                for (const [tid, t] of this.room.tracks)
                    if (t.participant === this.id) this.room.tracks.delete(tid);
                for (const o of this.room.others(this))
                    o.send({
                        type: 'participant.left',
                        data: {participant: this.participant(), reason}
                    });
            }
            this.socket.readyState = 3;
            setTimeout(() => {
                if (this.socket.onclose) this.socket.onclose({code, reason});
            }, 0);
        }
    }

    window.FakeHearth = {room: name => new Room(name)};
})();
