/*
 * hearth.js: the browser client for hearthd, one ES module with no dependencies and no build step.
 *
 * A client trades its platform token (or, in the dev profile, a user name) for a join ticket over
 * HTTP (`HearthClient.fetchTicket`), then opens the signaling WebSocket and joins a room with that
 * ticket (`join`). The wire protocol is docs/protocol.md (version 2 adds the media messages).
 *
 * Media uses two RTCPeerConnections, as LiveKit does, so that there is never glare:
 *   - the publisher PC: this client offers; it carries our own tracks and the data channel
 *     labelled "hearth" that we create before its first offer;
 *   - the subscriber PC: the server offers (one revision at a time), this client answers; it
 *     carries every other participant's tracks and the server's "hearth" data channel.
 * The server is ICE-lite with BUNDLE and rtcp-mux. Candidates trickle both ways: ours are sent
 * once the server has accepted the description they belong to, the server's are queued until the
 * remote description is set. Each PC has its own queue of negotiations, so a renegotiation never
 * overlaps another on the same PC.
 *
 * Requests carry an `id`; the server answers each with `ack` or `error` carrying the same id.
 * `request()` turns that into a Promise that rejects with a HearthError (the server's error code)
 * or after a timeout. Everything the server tells us unprompted becomes a CustomEvent on the
 * client (see HearthClient for the list). Unknown message types and fields are ignored, as the
 * protocol's versioning policy asks of clients.
 *
 * State kept here: the participants and tracks the server announced (`participants`, `tracks`,
 * both keyed by the server's ids) and the remote MediaStreamTracks we received (`remoteTracks`,
 * keyed by MediaStreamTrack.id, so getStats()' inbound-rtp `trackIdentifier` maps to a
 * participant). Nothing is retried: a dropped connection ends the session (`disconnected`).
 */

/** The protocol version this module speaks. */
export const PROTOCOL_VERSION = 2;

/** Largest data channel message the server relays (bytes). */
export const MAX_DATA_BYTES = 65536;

/** Simulcast layers offered by `publish(stream, {simulcast: true})`, lowest first. */
export const SIMULCAST_LAYERS = Object.freeze([
    {rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000},
    {rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000},
    {rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1500000},
]);

const DATA_LABEL = 'hearth';
const DEFAULT_TIMEOUT_MS = 10000;
const DEFAULT_MAX_MESSAGE_BYTES = 65536;
const WS_CONNECTING = 0, WS_OPEN = 1; /* WebSocket.readyState, for any implementation */

/** An error with the server's (or this module's) error code, e.g. `ticket_expired`, `timeout`. */
export class HearthError extends Error {
    /**
     * @param {string} code machine-readable code (docs/protocol.md §3, or `timeout`,
     *     `disconnected`, `not_connected`, `message_too_large`, `http_<status>`)
     * @param {string} message human-readable text
     * @param {object} [data] the whole error `data` object or HTTP body, when there is one
     */
    constructor(code, message, data) {
        super(message || code);
        this.name = 'HearthError';
        this.code = code;
        this.data = data;
    }
}

/*
 * The parts of one PeerConnection's state that the negotiation needs: the RTCPeerConnection,
 * a promise chain that serializes its negotiations, our candidates held until the server has
 * accepted our description, and the server's candidates held until the remote description is set.
 */
class PcSlot {
    constructor(name, pc) {
        this.name = name;
        this.pc = pc;
        this.chain = Promise.resolve();
        this.accepted = false;
        this.localCandidates = [];
        this.remoteCandidates = [];
        this.pending = null;
    }

    /* Runs fn after every negotiation queued before it; the chain survives failures. */
    serial(fn) {
        const run = this.chain.then(fn);
        this.chain = run.catch(() => {});
        return run;
    }
}

/**
 * One participant's connection to a hearthd room.
 *
 * Events (CustomEvent, payload in `event.detail`):
 *   - `participant-joined` {participant}: someone else joined
 *   - `participant-left` {participant, reason}
 *   - `track-published` {track}: {id, participant, kind, stream, mid}
 *   - `track-unpublished` {track}: {id, participant}
 *   - `track` {participant, track, stream, kind, trackId}: a remote MediaStreamTrack arrived
 *   - `data` {from, data}: a data channel message (string or ArrayBuffer) from participant `from`
 *   - `data-open` {}: our data channel can send
 *   - `media-state` {pc, state, reason?, source}: `source` is `server` (a media.state message)
 *     or `local` (the RTCPeerConnection's connectionState)
 *   - `moderation` {event, id, action, actor, target, reason, expires_at_ms?, vote?}: a
 *     moderation action or outcome in the room (mute, timeout, kick, ban, vote.opened,
 *     vote.cast, vote.closed, overturn, ...; docs/protocol.md §2.3)
 *   - `disconnected` {reason, code}: the session is over (left, closed, replaced, revoked, ...)
 *   - `error` {error, context}: something failed outside any awaited call (e.g. a renegotiation)
 */
export class HearthClient extends EventTarget {
    /**
     * @param {object} [options]
     * @param {number} [options.requestTimeoutMs=10000] how long a request waits for its reply
     * @param {typeof WebSocket} [options.WebSocket] the WebSocket class (default: the global one;
     *     e.g. the `ws` package under Node, or a test double)
     */
    constructor({requestTimeoutMs = DEFAULT_TIMEOUT_MS, WebSocket: WebSocketImpl} = {}) {
        super();
        this.requestTimeoutMs = requestTimeoutMs;
        this._WebSocket = WebSocketImpl || globalThis.WebSocket;
        /** @type {'idle'|'connecting'|'joined'|'closed'} */
        this.state = 'idle';
        /** Our participant object from the join result, or null. */
        this.participant = null;
        /** Grants of this session (`publish`, `subscribe`, `data`, ...). */
        this.grants = [];
        /** Others in the room: participant id -> participant object. */
        this.participants = new Map();
        /** Tracks the server announced: track id -> {id, participant, kind, stream, mid}. */
        this.tracks = new Map();
        /** Received tracks: MediaStreamTrack.id -> {participant, trackId, kind, track, ...}. */
        this.remoteTracks = new Map();
        /** The server's `hello` data (version, limits), or null. */
        this.hello = null;
        this._ws = null;
        this._seq = 0;
        this._pendingReplies = new Map();
        this._pub = null;
        this._sub = null;
        this._dcOut = null;
        this._disconnectReason = null;
        this._closedEmitted = false;
    }

    /**
     * Asks hearthd for a join ticket (POST /v1/join-tickets).
     *
     * @param {string} baseUrl e.g. `http://127.0.0.1:7880` (empty: this page's origin)
     * @param {object} options
     * @param {string} options.room room name
     * @param {string} [options.user] dev profile: sent as X-User-Id
     * @param {string} [options.device] dev profile: X-Device-Id; always sent as `device_id`
     * @param {string} [options.token] platform token: sent as `Authorization: Bearer`
     * @param {object} [options.grants] dev profile: grants to ask for, e.g. `{moderate: true}`
     * @param {string} [options.sid] dev profile: a platform session id to bind the ticket to
     * @param {number} [options.protocolVersion=2]
     * @returns {Promise<object>} the ticket response {ticket, signal_url, ice_servers, ...}
     * @throws {HearthError} with the server's error code (e.g. `auth_required`)
     */
    static async fetchTicket(
        baseUrl, {room, user, device, token, grants, sid, protocolVersion = PROTOCOL_VERSION} = {}) {
        const headers = {'Content-Type': 'application/json'};
        if (token) {
            headers.Authorization = `Bearer ${token}`;
        } else {
            if (user) headers['X-User-Id'] = user;
            if (device) headers['X-Device-Id'] = device;
        }
        const body = {room, protocol_version: protocolVersion};
        if (device) body.device_id = device;
        if (grants && !token) body.grants = grants;
        if (sid && !token) body.sid = sid;
        const url = `${(baseUrl || '').replace(/\/+$/, '')}/v1/join-tickets`;
        let res;
        try {
            res = await fetch(url, {method: 'POST', headers, body: JSON.stringify(body)});
        } catch (e) {
            throw new HearthError('network_error', `cannot reach ${url}: ${e.message}`);
        }
        let json = null;
        try {
            json = await res.json();
        } catch {
            json = null;
        }
        if (!res.ok) {
            const err = json && json.error;
            throw new HearthError(
                err && err.code ? err.code : `http_${res.status}`,
                err && err.message ? err.message : `HTTP ${res.status}`, json);
        }
        if (!json || typeof json.ticket !== 'string')
            throw new HearthError('bad_response', 'the ticket response has no ticket', json);
        return json;
    }

    /**
     * Connects to the signaling WebSocket and joins the room.
     *
     * @param {object} options
     * @param {string|object} options.ticket the ticket string, or the whole fetchTicket() result
     *     (then signalUrl, room and iceServers default to its fields)
     * @param {string} [options.signalUrl] the ticket response's `signal_url`
     * @param {string} [options.room]
     * @param {RTCIceServer[]} [options.iceServers] default: the ticket response's `ice_servers`
     * @param {boolean} [options.autoSubscribe=true] false: subscribe to tracks yourself
     * @returns {Promise<object>} the join result {participant, grants, room}
     * @throws {HearthError} the server's refusal (`ticket_expired`, `room_full`, ...)
     */
    async join({ticket, signalUrl, room, iceServers, autoSubscribe = true} = {}) {
        if (this.state !== 'idle')
            throw new HearthError('bad_state', `join() in state ${this.state}`);
        if (ticket && typeof ticket === 'object') {
            signalUrl = signalUrl || ticket.signal_url;
            room = room || ticket.room;
            iceServers = iceServers || ticket.ice_servers;
            ticket = ticket.ticket;
        }
        if (!ticket || !signalUrl || !room)
            throw new HearthError('bad_request', 'join() needs a ticket, a signalUrl and a room');
        this.state = 'connecting';
        this._iceServers = iceServers || [];
        try {
            await this._connect(signalUrl);
            const data = {ticket, room};
            if (!autoSubscribe) data.auto_subscribe = false;
            const result = await this.request('join', data);
            this._joined(result);
            return result;
        } catch (e) {
            this._teardown();
            this.state = 'closed';
            throw e;
        }
    }

    /**
     * Adds every track of a stream to the publisher PC and waits for the renegotiation.
     *
     * @param {MediaStream} stream
     * @param {object} [options]
     * @param {boolean} [options.simulcast=false] send video as three layers, rids q/h/f
     * @returns {Promise<RTCRtpTransceiver[]>} one transceiver per track (`mid` set once negotiated)
     */
    async publish(stream, {simulcast = false} = {}) {
        const slot = this._requirePublisher();
        const added = [];
        for (const track of stream.getTracks()) {
            const init = {direction: 'sendonly', streams: [stream]};
            if (simulcast && track.kind === 'video')
                init.sendEncodings = SIMULCAST_LAYERS.map(l => ({...l}));
            added.push(slot.pc.addTransceiver(track, init));
        }
        await this._negotiatePublisher();
        return added;
    }

    /**
     * Stops sending one of our tracks and renegotiates; the server then tells the others
     * `track.unpublished`.
     *
     * @param {MediaStreamTrack} track a track given to publish()
     */
    async unpublish(track) {
        const slot = this._requirePublisher();
        const sender = slot.pc.getSenders().find(s => s.track === track);
        if (!sender) throw new HearthError('unknown_track', 'that track is not published');
        slot.pc.removeTrack(sender);
        await this._negotiatePublisher();
    }

    /**
     * Sends a message to everyone else in the room over the data channel.
     *
     * @param {string|ArrayBuffer|ArrayBufferView} data at most 65536 bytes
     * @throws {HearthError} `not_connected` before the channel opens, `message_too_large`
     */
    sendData(data) {
        const dc = this._dcOut;
        if (!dc || dc.readyState !== 'open')
            throw new HearthError('not_connected', 'the data channel is not open');
        const size =
            typeof data === 'string' ? new TextEncoder().encode(data).length : data.byteLength;
        if (size > MAX_DATA_BYTES)
            throw new HearthError('message_too_large', `${size} bytes is over ${MAX_DATA_BYTES}`);
        dc.send(data);
    }

    /** Starts receiving a track (when joined with autoSubscribe: false). @param {string} trackId */
    subscribe(trackId) {
        return this.request('track.subscribe', {track: trackId});
    }

    /** Stops receiving a track. @param {string} trackId */
    unsubscribe(trackId) {
        return this.request('track.unsubscribe', {track: trackId});
    }

    /** Asks the server to stop forwarding a track for now. @param {string} trackId */
    pause(trackId) {
        return this.request('track.pause', {track: trackId});
    }

    /** Resumes a paused track. @param {string} trackId */
    resume(trackId) {
        return this.request('track.resume', {track: trackId});
    }

    /**
     * Chooses the simulcast layer received for a track.
     * @param {string} trackId
     * @param {'q'|'h'|'f'} rid
     */
    setLayer(trackId, rid) {
        return this.request('track.layer', {track: trackId, rid});
    }

    /**
     * A moderation action (needs the `moderate` grant; docs/protocol.md §2.3).
     * @param {string} action mute | unmute | timeout | untimeout | kick | ban | unban
     * @param {object} target {participant?, user?, device?, track?, reason?, duration_s?,
     *     propose?}
     * @returns {Promise<object>} {id, status: 'done'|'proposed', vote?}
     * @throws {HearthError} `not_moderator`, `target_not_found`, `already_banned`, ...
     */
    moderate(action, target = {}) {
        return this.request('moderate', {action, ...target});
    }

    /**
     * A moderator's ballot on an open vote (the `moderation` event `vote.opened` names it).
     * @param {string} actionId
     * @param {boolean} approve
     */
    vote(actionId, approve) {
        return this.request('vote', {action_id: actionId, approve: !!approve});
    }

    /**
     * The two PeerConnections' statistics (inbound-rtp of remote media is on `subscriber`).
     * @returns {Promise<{publisher: RTCStatsReport|null, subscriber: RTCStatsReport|null}>}
     */
    async getStats() {
        const [publisher, subscriber] = await Promise.all([
            this._pub ? this._pub.pc.getStats() : null,
            this._sub ? this._sub.pc.getStats() : null,
        ]);
        return {publisher, subscriber};
    }

    /** The publisher RTCPeerConnection (null before join or without publish/data grants). */
    get publisherPc() {
        return this._pub ? this._pub.pc : null;
    }

    /** The subscriber RTCPeerConnection (null before join). */
    get subscriberPc() {
        return this._sub ? this._sub.pc : null;
    }

    /** True while our data channel is open (sendData() works). */
    get dataReady() {
        return !!this._dcOut && this._dcOut.readyState === 'open';
    }

    /** Our participant id, or null before join. */
    get participantId() {
        return this.participant ? this.participant.id : null;
    }

    /**
     * Leaves the room: says `leave`, waits briefly for the ack, closes everything and emits
     * `disconnected` with reason `left`. Safe to call in any state.
     */
    async leave() {
        if (this.state === 'joined' && this._ws && this._ws.readyState === WS_OPEN) {
            this._disconnectReason = 'left';
            try {
                await this.request('leave', {}, {timeoutMs: 2000});
            } catch {
                /* closing anyway */
            }
        }
        this._finish('left', 1000);
    }

    /**
     * Sends one request and resolves with the `ack`'s data.
     *
     * @param {string} type message type, e.g. `room.info`
     * @param {object} [data]
     * @param {object} [options]
     * @param {number} [options.timeoutMs] default: the client's requestTimeoutMs
     * @returns {Promise<object>}
     * @throws {HearthError} the server's error, `timeout` or `disconnected`
     */
    request(type, data = {}, {timeoutMs = this.requestTimeoutMs} = {}) {
        const ws = this._ws;
        if (!ws || ws.readyState !== WS_OPEN)
            return Promise.reject(
                new HearthError('not_connected', `cannot send ${type}: not connected`));
        const id = String(++this._seq);
        const text = JSON.stringify({type, id, data});
        const limit = (this.hello && this.hello.limits && this.hello.limits.max_message_bytes) ||
            DEFAULT_MAX_MESSAGE_BYTES;
        if (text.length > limit)
            return Promise.reject(
                new HearthError('message_too_large', `${type} is over ${limit} bytes`));
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this._pendingReplies.delete(id);
                reject(new HearthError('timeout', `no reply to ${type} within ${timeoutMs} ms`));
            }, timeoutMs);
            this._pendingReplies.set(id, {resolve, reject, timer, type});
            ws.send(text);
        });
    }

    /* ---- signaling transport ------------------------------------------------------------ */

    /* Opens the WebSocket and resolves on the server's hello. */
    _connect(url) {
        return new Promise((resolve, reject) => {
            const ws = new this._WebSocket(url);
            this._ws = ws;
            let greeted = false;
            ws.onmessage = ev => {
                let msg;
                try {
                    msg = JSON.parse(ev.data);
                } catch {
                    return;
                }
                if (!msg || typeof msg.type !== 'string') return;
                if (!greeted) {
                    if (msg.type === 'hello') {
                        greeted = true;
                        this.hello = msg.data || {};
                        resolve();
                    } else if (msg.type === 'error') {
                        const d = msg.data || {};
                        reject(new HearthError(d.code || 'error', d.message, d));
                    }
                    return;
                }
                this._onMessage(msg);
            };
            ws.onclose = ev => {
                if (!greeted)
                    reject(new HearthError('disconnected', `WebSocket closed (${ev.code})`));
                this._finish(this._disconnectReason || 'closed', ev.code);
            };
            ws.onerror = () => {
                if (!greeted) reject(new HearthError('network_error', `cannot connect to ${url}`));
            };
        });
    }

    _onMessage(msg) {
        const data = msg.data && typeof msg.data === 'object' ? msg.data : {};
        if ((msg.type === 'ack' || msg.type === 'error') && msg.id != null &&
            this._pendingReplies.has(msg.id)) {
            const p = this._pendingReplies.get(msg.id);
            this._pendingReplies.delete(msg.id);
            clearTimeout(p.timer);
            if (msg.type === 'ack')
                p.resolve(data);
            else
                p.reject(new HearthError(data.code || 'error', data.message || p.type, data));
            return;
        }
        switch (msg.type) {
        case 'error':
            this._emitError(new HearthError(data.code || 'error', data.message, data), 'server');
            break;
        case 'deprecated':
            console.warn('hearth: deprecated', data);
            break;
        case 'participant.joined':
            if (data.participant && data.participant.id) {
                this.participants.set(data.participant.id, data.participant);
                this._emit('participant-joined', {participant: data.participant});
            }
            break;
        case 'participant.left':
            if (data.participant && data.participant.id) {
                this.participants.delete(data.participant.id);
                for (const [id, t] of this.tracks)
                    if (t.participant === data.participant.id) this.tracks.delete(id);
                this._emit(
                    'participant-left', {participant: data.participant, reason: data.reason});
            }
            break;
        case 'track.published':
            if (data.track && data.track.id) {
                this.tracks.set(data.track.id, data.track);
                this._emit('track-published', {track: data.track});
            }
            break;
        case 'track.unpublished':
            if (data.track && data.track.id) {
                this.tracks.delete(data.track.id);
                this._emit('track-unpublished', {track: data.track});
            }
            break;
        case 'sdp.offer':
            if (data.pc === 'subscriber' && typeof data.sdp === 'string')
                this._answerSubscriber(data.sdp, data.revision)
                    .catch(e => this._emitError(e, 'subscriber negotiation'));
            break;
        case 'ice.candidate':
            this._onRemoteCandidate(data);
            break;
        case 'media.state':
            this._emit(
                'media-state',
                {pc: data.pc, state: data.state, reason: data.reason, source: 'server'});
            break;
        case 'disconnect':
            this._disconnectReason = data.reason || 'closed';
            this._disconnectMessage = data.message || '';
            break;
        case 'moderation':
            this._emit('moderation', data);
            break;
        default:
            break; /* unknown types are ignored (protocol §5) */
        }
    }

    /* ---- joining and the two PeerConnections -------------------------------------------- */

    _joined(result) {
        this.state = 'joined';
        this.participant = result.participant || null;
        this.grants = Array.isArray(result.grants) ? result.grants : [];
        const room = result.room || {};
        for (const p of room.participants || [])
            if (p && p.id) this.participants.set(p.id, p);
        for (const t of room.tracks || [])
            if (t && t.id) this.tracks.set(t.id, t);

        this._sub = this._makeSlot('subscriber');
        this._sub.pc.ontrack = ev => this._onTrack(ev);
        this._sub.pc.ondatachannel = ev => {
            if (ev.channel.label === DATA_LABEL) this._listenData(ev.channel);
        };
        if (this.grants.includes('publish') || this.grants.includes('data')) {
            this._pub = this._makeSlot('publisher');
            this._pub.pc.onnegotiationneeded = () => {
                this._negotiatePublisher().catch(e => this._emitError(e, 'publisher negotiation'));
            };
            if (this.grants.includes('data')) {
                this._dcOut = this._pub.pc.createDataChannel(DATA_LABEL, {ordered: true});
                this._dcOut.binaryType = 'arraybuffer';
                this._dcOut.onopen = () => this._emit('data-open', {});
            }
        }
    }

    _makeSlot(name) {
        const pc = new RTCPeerConnection(
            {iceServers: this._iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
        const slot = new PcSlot(name, pc);
        pc.onicecandidate = ev => {
            const c = {
                pc: name,
                candidate: ev.candidate ? ev.candidate.candidate : '',
                sdp_mid: ev.candidate && ev.candidate.sdpMid != null ? ev.candidate.sdpMid : '0'
            };
            if (slot.accepted)
                this._sendCandidate(c);
            else
                slot.localCandidates.push(c);
        };
        pc.onconnectionstatechange = () => {
            this._emit('media-state', {pc: name, state: pc.connectionState, source: 'local'});
        };
        return slot;
    }

    _requirePublisher() {
        if (this.state !== 'joined') throw new HearthError('not_joined', 'join() first');
        if (!this._pub) throw new HearthError('not_allowed', 'this session has no publish grant');
        return this._pub;
    }

    /*
     * One publisher offer/answer round. Calls made while one is queued but not started share it;
     * a need that arises after it started (negotiationneeded) queues the next one.
     */
    _negotiatePublisher() {
        const slot = this._pub;
        if (!slot) return Promise.resolve();
        if (slot.pending) return slot.pending;
        const run = slot.serial(async () => {
            slot.pending = null;
            const pc = slot.pc;
            if (pc.signalingState === 'closed') return;
            await pc.setLocalDescription(await pc.createOffer());
            /*
             * A refused offer leaves the PC in have-local-offer: the next round simply offers
             * again from there. (Rolling back the first offer of a max-bundle PC breaks
             * Chromium's next createOffer: "max-bundle configured but ... no BUNDLE group".)
             */
            const answer =
                await this.request('sdp.offer', {pc: 'publisher', sdp: pc.localDescription.sdp});
            if (!answer || typeof answer.sdp !== 'string')
                throw new HearthError(
                    'negotiation_failed', 'the server answered sdp.offer without an sdp');
            await pc.setRemoteDescription({type: 'answer', sdp: answer.sdp});
            this._accepted(slot);
        });
        slot.pending = run;
        return run;
    }

    /* Answers one subscriber offer; offers are handled strictly in arrival order. */
    _answerSubscriber(sdp, revision) {
        const slot = this._sub;
        if (!slot) return Promise.resolve();
        return slot.serial(async () => {
            const pc = slot.pc;
            if (pc.signalingState === 'closed') return;
            try {
                await pc.setRemoteDescription({type: 'offer', sdp});
                await this._flushRemoteCandidates(slot);
                await pc.setLocalDescription(await pc.createAnswer());
            } catch (e) {
                /* Tell the server, which rolls back and offers again (protocol §2.2). */
                if (pc.signalingState === 'have-remote-offer')
                    await pc.setRemoteDescription({type: 'rollback'}).catch(() => {});
                await this.request('sdp.answer', {
                    pc: 'subscriber',
                    revision,
                    error: String(e && e.message || e).slice(0, 500),
                });
                throw e;
            }
            await this.request(
                'sdp.answer', {pc: 'subscriber', sdp: pc.localDescription.sdp, revision});
            this._accepted(slot);
        });
    }

    /* The server holds our description: send the candidates gathered for it, apply its own. */
    _accepted(slot) {
        if (!slot.accepted) {
            slot.accepted = true;
            for (const c of slot.localCandidates.splice(0)) this._sendCandidate(c);
        }
        return this._flushRemoteCandidates(slot);
    }

    _sendCandidate(c) {
        this.request('ice.candidate', c).catch(e => this._emitError(e, `${c.pc} candidate`));
    }

    _onRemoteCandidate(data) {
        const slot = data.pc === 'publisher' ? this._pub :
            data.pc === 'subscriber'         ? this._sub :
                                               null;
        if (!slot || typeof data.candidate !== 'string') return;
        const init = {
            candidate: data.candidate,
            sdpMid: data.sdp_mid != null ? String(data.sdp_mid) : '0'
        };
        if (!slot.pc.remoteDescription) {
            slot.remoteCandidates.push(init);
            return;
        }
        this._addCandidate(slot, init);
    }

    async _flushRemoteCandidates(slot) {
        for (const init of slot.remoteCandidates.splice(0)) await this._addCandidate(slot, init);
    }

    async _addCandidate(slot, init) {
        try {
            await slot.pc.addIceCandidate(init);
        } catch (e) {
            this._emitError(e, `${slot.name} addIceCandidate`);
        }
    }

    /* ---- remote media and data ---------------------------------------------------------- */

    /*
     * The stream id is the publishing participant's id (the server's a=msid). The track id is
     * found by the msid track id, else by mid, else by participant and kind.
     */
    _onTrack(ev) {
        const stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
        const participant = stream.id;
        const mid = ev.transceiver ? ev.transceiver.mid : null;
        let info = this.tracks.get(ev.track.id);
        if (!info) {
            const mine = [...this.tracks.values()].filter(t => t.participant === participant);
            info = mine.find(t => t.mid != null && String(t.mid) === mid) ||
                mine.find(t => t.kind === ev.track.kind);
        }
        const entry = {
            participant,
            trackId: info ? info.id : null,
            kind: ev.track.kind,
            track: ev.track,
            stream,
            mid
        };
        this.remoteTracks.set(ev.track.id, entry);
        ev.track.addEventListener('ended', () => this.remoteTracks.delete(ev.track.id));
        this._emit(
            'track',
            {participant, track: ev.track, stream, kind: ev.track.kind, trackId: entry.trackId});
    }

    /* Server messages are `<sender id>\n<payload>`; text stays text, binary stays binary. */
    _listenData(channel) {
        channel.binaryType = 'arraybuffer';
        channel.onmessage = ev => {
            let from = null, data = ev.data;
            if (typeof data === 'string') {
                const nl = data.indexOf('\n');
                if (nl < 0) return;
                from = data.slice(0, nl);
                data = data.slice(nl + 1);
            } else {
                const bytes = new Uint8Array(data);
                const nl = bytes.indexOf(10);
                if (nl < 0) return;
                from = String.fromCharCode(...bytes.subarray(0, nl));
                data = data.slice(nl + 1);
            }
            this._emit('data', {from, data});
        };
    }

    /* ---- ending -------------------------------------------------------------------------- */

    _teardown() {
        for (const slot of [this._pub, this._sub])
            if (slot) slot.pc.close();
        this._pub = this._sub = this._dcOut = null;
        for (const p of this._pendingReplies.values()) {
            clearTimeout(p.timer);
            p.reject(new HearthError('disconnected', `${p.type}: the connection closed`));
        }
        this._pendingReplies.clear();
        const ws = this._ws;
        this._ws = null;
        if (ws) {
            ws.onmessage = ws.onclose = ws.onerror = null;
            if (ws.readyState === WS_OPEN || ws.readyState === WS_CONNECTING) ws.close(1000);
        }
    }

    _finish(reason, code) {
        const wasJoined = this.state === 'joined';
        this._teardown();
        this.state = 'closed';
        if (wasJoined && !this._closedEmitted) {
            this._closedEmitted = true;
            this._emit('disconnected', {reason, code, message: this._disconnectMessage || ''});
        }
    }

    _emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, {detail}));
    }

    _emitError(error, context) {
        this._emit('error', {error, context});
    }
}
