/*
 * hearth.js: the browser client for hearthd, one ES module with no dependencies and no build step.
 * Published as the npm package `hearth-client` (package.json beside it); its types are
 * hearth.d.ts, written by hand and kept in step with this file by tests/browser/sdk_package.test.mjs
 * (a public name added here must be declared there); the guide is docs/sdk.md.
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
 * both keyed by the server's ids), who speaks (`speakers`, the last `room.speakers` list) and
 * the remote MediaStreamTracks we received (`remoteTracks`, keyed by MediaStreamTrack.id, so
 * getStats()' inbound-rtp `trackIdentifier` maps to a participant).
 *
 * Resume (docs/protocol.md §2.4). A session outlives its WebSocket: the join result carries a
 * resume token (rotated by `session.token`; the latest is kept) and grace windows. When the
 * connection drops (a `disconnect` with `resume: true`, e.g. a draining server, or a close with no
 * `disconnect` before it: a restart, `kill -9`, a lost network), or when a PeerConnection fails or
 * stays `disconnected` for 2 s while joined (a network change the server cannot see) and an ICE
 * restart on the same WebSocket does not help (no answer within 1 s, or not connected 4 s later;
 * event `ice-restart`: the publisher PC offers new credentials, the subscriber PC asks
 * `ice.restart`; then this client closes the WebSocket itself), the client goes `reconnecting` and sends `resume` instead
 * of `join` on a new WebSocket, with no new ticket: first after `retry_after_ms` or 100-250 ms,
 * then every 250 ms for the first 10 s after the drop and every 1 s after that (with jitter), each
 * attempt abandoned when no `hello` came within 1.1 s, until the larger grace window has passed since the drop (`disconnected`,
 * `resume_failed`). It asks to keep the PeerConnections when both are connected; when the server
 * answers `media: "renew"` both are replaced: the publisher PC is offered again with the same
 * tracks in the same m-line order (so the same mids, and the server keeps their track ids) and
 * a new data channel, the server's new subscriber offers are answered, and the remote tracks
 * arrive again as new `track` events. A refusal with `rejoin: true` (close 4009) ends the
 * session (`disconnected` with the refusal's code): fetch a new ticket and join. Never resumed:
 * after leave(), and after `left`, `replaced`, `revoked`, `kicked`, `banned`, `timed_out`,
 * `negotiation_failed` or `rate_limited`. `autoResume: false` restores the old behaviour: a
 * dropped connection ends the session.
 *
 * Clusters (several hearthd nodes, one hosting each room). A node that does not host the room
 * refuses `join` with `room_elsewhere` and the host's `signal_url` (the ticket is not consumed):
 * join() sends the same `join` there, following at most 3 such redirects, and that URL is where
 * later resumes go. A `resume` refused the same way is sent to that URL after 100-250 ms, as a
 * retry within the same grace window, not a failure. A `disconnect` with reason `moved` (the room
 * moved to another node) and `signal_url` is resumed from like any `disconnect` with
 * `resume: true`, at that URL. The join and resume results may carry `cluster.signal_urls`, the
 * other live nodes' URLs (the latest list is kept): when an attempt cannot connect at all (no
 * socket, or no `hello` within 1.1 s: the node may be dead), the next one goes to the next URL
 * of [the URL last resumed or joined on, ...those], round-robin; a node reached that way
 * answers `room_elsewhere` toward the room's new host when it is not that host itself.
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

/*
 * Adds a sending transceiver for what publish() was asked: {track, stream, simulcast, svc, codec}.
 * SVC (docs/protocol.md §2.8) is VP9, or AV1 with the dependency descriptor, with spatial layers
 * in one stream: that codec goes first in the codec list (hearth forwards the publisher's first
 * codec) and the one encoding carries the mode.
 */
function addSendTransceiver(pc, {track, stream, simulcast, svc, codec}) {
    const init = {direction: 'sendonly', streams: stream ? [stream] : []};
    const video = track.kind === 'video';
    if (video && svc) init.sendEncodings = [{scalabilityMode: svc}];
    else if (video && simulcast) init.sendEncodings = SIMULCAST_LAYERS.map(l => ({...l}));
    const transceiver = pc.addTransceiver(track, init);
    const first = codec || (svc ? 'vp9' : null);
    if (video && first && transceiver.setCodecPreferences && globalThis.RTCRtpSender) {
        const codecs = RTCRtpSender.getCapabilities('video').codecs;
        const mime = `video/${first.toLowerCase()}`;
        const want = codecs.filter(c => c.mimeType.toLowerCase() === mime);
        if (!want.length) throw new HearthError('unsupported_codec', `this browser cannot send ${first}`);
        transceiver.setCodecPreferences([...want, ...codecs.filter(c => !want.includes(c))]);
    }
    return transceiver;
}

const DATA_LABEL = 'hearth';
const DEFAULT_TIMEOUT_MS = 10000;
const DEFAULT_MAX_MESSAGE_BYTES = 65536;
const WS_CONNECTING = 0, WS_OPEN = 1; /* WebSocket.readyState, for any implementation */

/* Resume (docs/protocol.md §2.4). */
/* An attempt with no hello by then is abandoned: just past the kernel's first SYN retransmit
 * (1 s), so an attempt started while the network was down succeeds when it comes back. */
const RESUME_CONNECT_TIMEOUT_MS = 1100;
const RESUME_REPLY_TIMEOUT_MS = 5000;   /* how long the `resume` request waits for its reply */
const RESUME_FAST_MS = 250, RESUME_SLOW_MS = 1000; /* between attempts, after the first */
const RESUME_FAST_FOR_MS = 10000; /* fast attempts this long after the drop, then slow ones */
const SILENCE_POLL_MS = 500;  /* how often the PCs' received bytes are looked at */
const SILENCE_MS = 1500;      /* a PC that was receiving and got nothing this long: check */
const MEDIA_DISCONNECTED_MS = 2000; /* a PC `disconnected` this long while joined: act */
const ICE_RESTART_ACK_MS = 1000; /* the signaling must answer this fast, or it is down too */
const ICE_RESTART_MS = 4000;     /* an ICE restart that has not reconnected by then: resume */
const QUALITY_POLL_MS = 2000;    /* how often `connection-quality` is measured */
const DEFAULT_DROP_GRACE_S = 20, DEFAULT_RESTART_GRACE_S = 60;
/* the code this client closes a socket with while it means to resume (1000 is for leaving) */
const RESUME_CLOSE_CODE = 4000;
/* disconnect reasons that end the session for good */
const FINAL_REASONS = new Set([
    'left', 'replaced', 'revoked', 'kicked', 'banned', 'timed_out', 'negotiation_failed',
    'rate_limited'
]);
/* close codes that end the session even without a `disconnect` before them (§4) */
const FINAL_CLOSE_CODES =
    new Set([1000, 1008, 1009, 4001, 4002, 4003, 4004, 4005, 4007, 4008, 4009]);
/* failures of one resume attempt after which another is worth it (the rest end the session);
 * `room_elsewhere` names where to go (a refusal without that URL is retried where it was) */
const RETRY_CODES = new Set([
    'draining', 'timeout', 'disconnected', 'network_error', 'not_connected', 'rate_limited',
    'internal_error', 'media_unavailable', 'room_elsewhere'
]);
/* failures of an attempt's connect step (before `hello`): the node may be dead, try the next */
const CONNECT_FAILED_CODES = new Set(['network_error', 'timeout', 'disconnected']);
/* `room_elsewhere` redirects join() follows; the next one fails it (a loop between nodes) */
const MAX_JOIN_REDIRECTS = 3;

/* A signal URL from the server (room_elsewhere, disconnect, cluster), or null. */
function signalUrlOf(v) {
    return typeof v === 'string' && v ? v : null;
}

/*
 * Whether a session whose socket closed with `code`, after `disconnect` (the last `disconnect`
 * message's data, or null), may be resumed.
 */
function resumable(disconnect, code) {
    if (disconnect && disconnect.resume) return true;
    if (disconnect && FINAL_REASONS.has(disconnect.reason)) return false;
    return !FINAL_CLOSE_CODES.has(code);
}

/*
 * The delay before resume attempt `attempt` (1 = the first): `retryAfterMs` when the server
 * named one, else 100-250 ms for the first and 250 ms, 500 ms, 1 s, 1 s... after, +-20 %.
 */
function resumeDelayMs(attempt, retryAfterMs, sinceDropMs = 0) {
    if (typeof retryAfterMs === 'number' && retryAfterMs >= 0)
        return Math.round(retryAfterMs + Math.random() * 250);
    if (attempt <= 1) return Math.round(100 + Math.random() * 150);
    const base = sinceDropMs < RESUME_FAST_FOR_MS ? RESUME_FAST_MS : RESUME_SLOW_MS;
    return Math.round(base * (0.8 + Math.random() * 0.4));
}

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
        this.downTimer = null; /* connectionState `disconnected` since: resume if it lasts */
        this.iceRestarted = false; /* an ICE restart was tried since the PC last connected */
        this.restartTimer = null;
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
 *   - `speakers` {speakers}: who speaks in the room now, loudest first: [{participant, track,
 *     level}] (`level` 0..1; `participant` may be us; [] when nobody does), also in
 *     `client.speakers`. From the server's `room.speakers` (docs/protocol.md §2.6), and when a
 *     speaker's track or participant goes away
 *   - `layers` {track, mid, active}: the server asked us to send only the simulcast layers
 *     whose rids are in `active` (e.g. ['q']) for our track `track` (its id) at `mid`, since
 *     nobody watches the others; this client has paused the others already (encodings'
 *     `active`, no renegotiation) and resumes them when a later `layers` names them again.
 *     From the server's `track.layers` (docs/protocol.md §2.7)
 *   - `receiving` {track, rid, width, height, limited}: the layer we now receive of remote
 *     track `track` (its rid, null while none; for VP9 SVC q/h/f), its size when the server
 *     knows it (else null), and `limited` when our downlink holds it below the layer asked for
 *     (setLayer / setSize, the best by default; pin() says which tracks go first when it
 *     cannot carry them all); also in `client.receiving`. From the
 *     server's `track.receiving` (docs/protocol.md §2.8)
 *   - `track` {participant, track, stream, kind, trackId}: a remote MediaStreamTrack arrived
 *   - `data` {from, data, direct}: a message from participant `from`: over the data channel,
 *     to the whole room (string or ArrayBuffer; `direct` false), or sent to us alone with
 *     sendDataTo() (a string; `direct` true)
 *   - `data-open` {}: our data channel can send
 *   - `media-state` {pc, state, reason?, source}: `source` is `server` (a media.state message)
 *     or `local` (the RTCPeerConnection's connectionState)
 *   - `moderation` {event, id, action, actor, target, reason, expires_at_ms?, vote?}: a
 *     moderation action or outcome in the room (mute, timeout, kick, ban, vote.opened,
 *     vote.cast, vote.closed, overturn, ...; docs/protocol.md §2.3)
 *   - `participant-resumed` {participant}: someone whose connection dropped came back (the
 *     same participant: no `participant-left` and `participant-joined`)
 *   - `reconnecting` {attempt, reason, delayMs}: our connection dropped; resume attempt
 *     `attempt` (1, 2, ...) starts in `delayMs`. `reason`: the server's `disconnect` reason
 *     (`shutdown`, `moved`), `closed` (the socket closed, see `code`), or `media_failed` /
 *     `media_disconnected` (a PeerConnection, after a network change); also `code`
 *   - `ice-restart` {pc, reason}: a PeerConnection lost its path; ICE is restarted on the same
 *     WebSocket before anything else (a resume follows when that does not help)
 *   - `reconnected` {media: 'kept'|'renew', durationMs, attempts}: resumed as the same
 *     participant, `durationMs` after the drop. With `renew` the PeerConnections are new: the
 *     remote tracks received so far have ended (remoteTracks is emptied), `track` fires again
 *     for each, and `data-open` again for the new data channel. Participants and tracks that
 *     came or went meanwhile are reported as `participant-joined`, `participant-left` (reason
 *     `unknown`), `track-published` and `track-unpublished`
 *   - `disconnected` {reason, code, message}: the session is over (left, closed, replaced,
 *     revoked, ...; `resume_failed` when the grace window passed while reconnecting; a refused
 *     resume's code, e.g. `resume_expired`, with code 4009: fetch a new ticket and join again)
 *   - `ice-servers` {iceServers}: the server's ICE servers (join, resume, and a fresh TURN
 *     credential before the last one lapses), already given to the live PeerConnections
 *   - `connection-quality` {quality, rttMs, loss, limited}: how our connection does, when
 *     `quality` changes (the latest reading, taken every 2 s while joined, is also in
 *     `client.connectionQuality`): `lost` from the moment the connection drops until it is
 *     resumed (told at once), or while a PeerConnection is `disconnected` or `failed`; else
 *     `poor` (loss >= 10 % or round trip >= 400 ms), `fair` (loss >= 2 % or round trip
 *     >= 150 ms) or `good`. `rttMs`: the round trip of the
 *     selected ICE candidate pair, the larger of the two PCs' (null before one is measured);
 *     `loss`: the share of media packets lost since the last reading, 0..1, the worse of
 *     downlink (our inbound-rtp) and uplink (the server's receiver reports of our streams);
 *     `limited`: the ids of the remote tracks our downlink holds below the layer asked for
 *     (the `receiving` events'; told, not counted in `quality`)
 *   - `error` {error, context}: something failed outside any awaited call (e.g. a renegotiation)
 */
export class HearthClient extends EventTarget {
    /**
     * @param {object} [options]
     * @param {number} [options.requestTimeoutMs=10000] how long a request waits for its reply
     * @param {typeof WebSocket} [options.WebSocket] the WebSocket class (default: the global one;
     *     e.g. the `ws` package under Node, or a test double)
     * @param {boolean} [options.autoResume=true] resume the session by itself after a dropped
     *     connection or failed media (docs/protocol.md §2.4); false: a drop ends the session
     */
    constructor(
        {requestTimeoutMs = DEFAULT_TIMEOUT_MS, WebSocket: WebSocketImpl, autoResume = true} = {}) {
        super();
        this.requestTimeoutMs = requestTimeoutMs;
        this.autoResume = autoResume;
        this._WebSocket = WebSocketImpl || globalThis.WebSocket;
        /**
         * `reconnecting`: the connection dropped and the client is resuming; requests reject
         * with `not_connected` until `reconnected`.
         * @type {'idle'|'connecting'|'joined'|'reconnecting'|'closed'}
         */
        this.state = 'idle';
        /** Our participant object from the join result, or null. */
        this.participant = null;
        /** Grants of this session (`publish`, `subscribe`, `data`, ...). */
        this.grants = [];
        /** Others in the room: participant id -> participant object. */
        this.participants = new Map();
        /** Tracks the server announced: track id -> {id, participant, kind, stream, mid}. */
        this.tracks = new Map();
        /**
         * Who speaks in the room now, loudest first (the `speakers` event's list; us too).
         * @type {{participant: string, track: string, level: number}[]}
         */
        this.speakers = [];
        /**
         * What we receive of each remote video track with layers (the `receiving` event's
         * detail): track id -> {track, rid, width, height, limited}.
         */
        this.receiving = new Map();
        /** Received tracks: MediaStreamTrack.id -> {participant, trackId, kind, track, ...}. */
        this.remoteTracks = new Map();
        /** The server's `hello` data (version, limits), or null. */
        this.hello = null;
        /**
         * The latest `connection-quality` reading {quality, rttMs, loss, limited}, or null
         * before the first (2 s after join).
         */
        this.connectionQuality = null;
        this._ws = null;
        this._seq = 0;
        this._pendingReplies = new Map();
        this._pub = null;
        this._sub = null;
        this._dcOut = null;
        this._disconnectReason = null;
        this._disconnect = null; /* the last `disconnect` message's data */
        this._closedEmitted = false;
        this._signalUrl = null; /* where the session is (join, resume, and their redirects) */
        /* the other nodes' signal URLs, from the last join or resume result that had them */
        this._clusterUrls = [];
        this._room = null;
        /* {token, dropGraceS, restartGraceS} from the join result and session.token, or null */
        this._resume = null;
        /* what publish() added, in order: {track, stream, simulcast, transceiver} */
        this._published = [];
        this._rc = null;          /* the resume in progress: {reason, startedAt, deadline, ...} */
        this._connectAbort = null; /* fails the _connect() in progress */
        this._restoring = null;    /* the publisher's restoration after a renew, a Promise */
        this._restorePlan = null;  /* its plan until it completes (a second renew reuses it) */
        this._leaving = false;
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
     * In a cluster, a node that does not host the room refuses with `room_elsewhere` and the
     * host's `signal_url`: the same `join` (same ticket, which that refusal did not consume) goes
     * there, at most 3 times, and that node is where the session is (resumes go there). The
     * result's `cluster.signal_urls` (the other live nodes) are kept: a resume whose node cannot
     * be reached tries them in turn. A resume refused with `room_elsewhere`, or a `disconnect`
     * with reason `moved`, sends the session to the `signal_url` they name.
     *
     * @param {object} options
     * @param {string|object} options.ticket the ticket string, or the whole fetchTicket() result
     *     (then signalUrl, room and iceServers default to its fields)
     * @param {string} [options.signalUrl] the ticket response's `signal_url`
     * @param {string} [options.room]
     * @param {RTCIceServer[]} [options.iceServers] default: the ticket response's `ice_servers`
     * @param {'all'|'relay'} [options.iceTransportPolicy='all'] `relay`: media only through TURN
     *     (what a client behind a strict firewall ends up using; useful to test TURN)
     * @param {boolean} [options.autoSubscribe=true] false: subscribe to tracks yourself
     * @returns {Promise<object>} the join result {participant, grants, room, resume?, cluster?}
     * @throws {HearthError} the server's refusal (`ticket_expired`, `room_full`, ...;
     *     `room_elsewhere` after 3 redirects)
     */
    async join({ticket, signalUrl, room, iceServers, iceTransportPolicy = 'all',
                autoSubscribe = true} = {}) {
        if (this.state !== 'idle')
            throw new HearthError('bad_state', `join() in state ${this.state}`);
        /* ICE servers given by the caller are kept; the server's own are refreshed */
        this._iceFixed = Array.isArray(iceServers);
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
        this._icePolicy = iceTransportPolicy === 'relay' ? 'relay' : 'all';
        this._signalUrl = signalUrl;
        this._room = room;
        /* event_batch: a large room's events may come several to a message (protocol §2.5) */
        const data = {ticket, room, event_batch: true};
        if (!autoSubscribe) data.auto_subscribe = false;
        try {
            for (let redirects = 0;; redirects++) {
                await this._connect(this._signalUrl);
                let result;
                try {
                    result = await this.request('join', data);
                } catch (e) {
                    const to = e && e.code === 'room_elsewhere' && e.data &&
                        signalUrlOf(e.data.signal_url);
                    if (!to || redirects >= MAX_JOIN_REDIRECTS) throw e;
                    /* another node hosts the room and our ticket is still good: join there (the
                     * server closes this socket; whatever it said before that is forgotten) */
                    this._closeSocket(1000);
                    this._disconnect = this._disconnectReason = null;
                    this._disconnectMessage = '';
                    this._signalUrl = to;
                    continue;
                }
                this._joined(result);
                return result;
            }
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
     * @param {string} [options.svc] send video as SVC in this scalability mode (e.g. 'L3T3':
     *     three spatial layers in one stream; subscribers choose one with setLayer q/h/f)
     * @param {string} [options.codec] the video codec to send: 'VP8', 'VP9', 'H264' or 'AV1'
     *     (SVC: 'VP9', the default, or 'AV1'); the browser's choice when not given
     * @returns {Promise<RTCRtpTransceiver[]>} one transceiver per track (`mid` set once negotiated)
     */
    async publish(stream, {simulcast = false, svc = null, codec = null} = {}) {
        if (this._restoring) await this._restoring; /* after a renew: the old tracks first */
        const slot = this._requirePublisher();
        const added = [];
        for (const track of stream.getTracks()) {
            const entry = {track, stream, simulcast, svc, codec, transceiver: null};
            entry.transceiver = addSendTransceiver(slot.pc, entry);
            this._published.push(entry);
            added.push(entry.transceiver);
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
        this._published = this._published.filter(p => p.track !== track);
        await this._negotiatePublisher();
    }

    /**
     * Sends `newTrack` in place of `oldTrack`, one of our published tracks: another camera or
     * microphone (device switching). No renegotiation: the others keep receiving the same track
     * id and see no `track-unpublished` or `track-published`; a resume that renews the media
     * sends the new track. The old track is not stopped (stop it when done with the device).
     *
     * @param {MediaStreamTrack} oldTrack a track given to publish() or to an earlier replaceTrack()
     * @param {MediaStreamTrack} newTrack of the same kind
     * @throws {HearthError} `unknown_track` (oldTrack is not published), `bad_request` (another
     *     kind), `not_joined`, `not_connected` (while reconnecting)
     */
    async replaceTrack(oldTrack, newTrack) {
        if (this._restoring) await this._restoring; /* after a renew: the restored senders */
        const slot = this._requirePublisher();
        const entry = this._published.find(p => p.track === oldTrack);
        const sender = entry && slot.pc.getSenders().find(s => s.track === oldTrack);
        if (!sender) throw new HearthError('unknown_track', 'that track is not published');
        if (!newTrack || newTrack.kind !== oldTrack.kind)
            throw new HearthError('bad_request', `replaceTrack() needs a ${oldTrack.kind} track`);
        await sender.replaceTrack(newTrack);
        entry.track = newTrack;
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

    /**
     * Sends a text message to one participant of the room (the `data.send` request over the
     * signaling WebSocket; docs/protocol.md §2.10). It arrives as a `data` event with
     * `direct: true`. Resolves once the server handed it to that participant's connection.
     *
     * @param {string} participantId the recipient, e.g. from `participant-joined`
     * @param {string} text at most what one signaling message may carry (hello's
     *     `max_message_bytes`, 64 KiB by default, with the envelope)
     * @throws {HearthError} `target_not_found` (not in the room, or us), `target_unavailable`
     *     (reconnecting), `not_allowed` (no `data` grant, ours or theirs), `message_too_large`,
     *     `not_connected`, `unsupported_type` (a hearthd that predates it)
     */
    sendDataTo(participantId, text) {
        if (typeof participantId !== 'string' || typeof text !== 'string')
            return Promise.reject(
                new HearthError('bad_request', 'sendDataTo() takes a participant id and a string'));
        return this.request('data.send', {to: participantId, data: text});
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
     * Chooses the simulcast layer received for a track (for VP9 SVC, q/h/f are its spatial
     * layers from the lowest).
     * @param {string} trackId
     * @param {'q'|'h'|'f'} rid
     */
    setLayer(trackId, rid) {
        return this.request('track.layer', {track: trackId, rid});
    }

    /**
     * Asks for the smallest layer of a track at least this large (e.g. the size of the tile
     * that shows it); the server follows when the publisher's sizes change. setLayer() again
     * replaces it.
     * @param {string} trackId
     * @param {number} width pixels
     * @param {number} height pixels
     */
    setSize(trackId, width, height) {
        return this.request('track.layer',
            {track: trackId, width: Math.round(width), height: Math.round(height)});
    }

    /**
     * Pins a remote track, or unpins it: when our downlink cannot carry every video at the
     * layer asked for, pinned tracks are served first, then whoever speaks, then the larger
     * sizes asked for (docs/protocol.md §2.8). The server keeps the choice across a resume.
     * @param {string} trackId
     * @param {boolean} [pinned=true] false unpins
     * @throws {HearthError} `unknown_track` (not in the room, or not received), ...
     */
    pin(trackId, pinned = true) {
        return this.request('track.pin', {track: trackId, pinned: !!pinned});
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
     * `disconnected` with reason `left`. Safe to call in any state; while reconnecting it stops
     * resuming (the server ends the session when its grace window passes).
     */
    async leave() {
        this._leaving = true;
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
     * @throws {HearthError} the server's error, `timeout`, `disconnected`, or `not_connected`
     *     (also while reconnecting)
     */
    request(type, data = {}, options = {}) {
        if (this.state === 'reconnecting')
            return Promise.reject(
                new HearthError('not_connected', `cannot send ${type}: reconnecting`));
        return this._send(type, data, options);
    }

    /* request() in any state (resume sends `resume` while reconnecting). */
    _send(type, data = {}, {timeoutMs = this.requestTimeoutMs} = {}) {
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

    /*
     * Opens the WebSocket (this._ws) and resolves on the server's hello. With timeoutMs, a
     * connection that has not said hello by then is closed and the promise rejects (`timeout`).
     */
    _connect(url, {timeoutMs = 0} = {}) {
        return new Promise((resolve, reject) => {
            const ws = new this._WebSocket(url);
            this._ws = ws;
            let greeted = false, settled = false, timer = null;
            const settle = err => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                if (this._connectAbort === settle) this._connectAbort = null;
                if (err)
                    reject(err);
                else
                    resolve();
            };
            this._connectAbort = settle;
            if (timeoutMs > 0)
                timer = setTimeout(() => {
                    settle(
                        new HearthError('timeout', `no hello from ${url} within ${timeoutMs} ms`));
                    if (this._ws === ws) this._closeSocket(RESUME_CLOSE_CODE, 'resume');
                }, timeoutMs);
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
                        settle(null);
                    } else if (msg.type === 'error') {
                        const d = msg.data || {};
                        settle(new HearthError(d.code || 'error', d.message, d));
                    }
                    return;
                }
                this._onMessage(msg);
            };
            ws.onclose = ev => {
                settle(new HearthError(
                    'disconnected', `WebSocket closed (${ev.code})`, {close_code: ev.code}));
                this._onSocketClose(ws, ev.code);
            };
            ws.onerror = () => {
                settle(new HearthError('network_error', `cannot connect to ${url}`));
            };
        });
    }

    /* Our socket closed (not by us): a drop to resume from, the end, or a failed attempt. */
    _onSocketClose(ws, code) {
        if (ws !== this._ws) return;
        if (this.state === 'joined') {
            this._dropped(code);
        } else if (this.state === 'reconnecting') {
            /* an attempt's socket: the attempt fails (its pending request rejects) */
            if (this._rc) this._rc.lastCode = code;
            this._closeSocket();
        } else if (this.state === 'connecting') {
            /* join()'s socket: its request fails and join() decides (a refusal such as
             * room_elsewhere, answered just before this close, may send it to another node) */
            this._closeSocket();
        } else {
            this._finish(this._disconnectReason || 'closed', code);
        }
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
        case 'room.events': /* several room events, in order (protocol §2.5) */
            if (Array.isArray(data.events))
                for (const e of data.events)
                    if (e && typeof e.type === 'string' && e.type !== 'room.events')
                        this._onMessage(e);
            break;
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
                this._dropSpeakers(s => s.participant === data.participant.id);
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
                this.receiving.delete(data.track.id);
                this._emit('track-unpublished', {track: data.track});
                this._dropSpeakers(s => s.track === data.track.id);
            }
            break;
        case 'room.speakers': /* the whole list, loudest first (protocol §2.6) */
            if (Array.isArray(data.speakers))
                this._setSpeakers(data.speakers
                    .filter(x => x && typeof x.participant === 'string' &&
                                typeof x.track === 'string' && typeof x.level === 'number')
                    .map(x => ({participant: x.participant, track: x.track, level: x.level})));
            break;
        case 'track.receiving': /* the layer we receive of a track, and why (protocol §2.8) */
            if (typeof data.track === 'string') {
                const r = {
                    track: data.track,
                    rid: typeof data.rid === 'string' ? data.rid : null,
                    width: Number.isInteger(data.width) ? data.width : null,
                    height: Number.isInteger(data.height) ? data.height : null,
                    limited: data.limited === true,
                };
                this.receiving.set(r.track, r);
                this._emit('receiving', r);
            }
            break;
        case 'track.layers': { /* our simulcast layers to keep sending (protocol §2.7) */
            const active =
                Array.isArray(data.active) ? data.active.filter(r => typeof r === 'string') : [];
            if (typeof data.mid === 'string' && active.length)
                this._setLayers(data.track, data.mid, active);
            break;
        }
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
        case 'participant.resumed':
            if (data.participant && data.participant.id) {
                this.participants.set(data.participant.id, data.participant);
                this._emit('participant-resumed', {participant: data.participant});
            }
            break;
        case 'session.token':
            this._setResume({token: data.token}); /* keep the latest */
            break;
        case 'ice.servers':
            this._setIceServers(data.ice_servers); /* a fresh TURN credential */
            break;
        case 'disconnect':
            this._disconnectReason = data.reason || 'closed';
            this._disconnectMessage = data.message || '';
            this._disconnect = {
                reason: this._disconnectReason,
                resume: data.resume === true,
                retryAfterMs: typeof data.retry_after_ms === 'number' ? data.retry_after_ms : null,
                /* `moved`: the room's new node, where to resume */
                signalUrl: signalUrlOf(data.signal_url),
            };
            break;
        case 'moderation':
            this._emit('moderation', data);
            break;
        case 'data': /* data.send from one participant to us alone (protocol §2.10) */
            if (typeof data.from === 'string' && typeof data.data === 'string')
                this._emit('data', {from: data.from, data: data.data, direct: true});
            break;
        default:
            break; /* unknown types are ignored (protocol §5) */
        }
    }

    /* ---- joining and the two PeerConnections -------------------------------------------- */

    _joined(result) {
        this.state = 'joined';
        this._applyResult(result);
        this._makePcs({dataChannel: true});
        if (this.autoResume && !this._silenceTimer)
            this._silenceTimer = setInterval(() => this._checkSilence(), SILENCE_POLL_MS);
        if (!this._qualityTimer)
            this._qualityTimer = setInterval(() => this._checkQuality(), QUALITY_POLL_MS);
    }

    /*
     * One `connection-quality` reading (see the event). Loss is counted over the packets since
     * the last reading of the same PeerConnection (a renewed PC starts again from zero).
     */
    async _checkQuality() {
        if (this._qualityBusy || (this.state !== 'joined' && this.state !== 'reconnecting'))
            return;
        this._qualityBusy = true;
        try {
            if (this.state !== 'joined') {
                this._setQuality('lost', null, null);
                return;
            }
            const {rttMs, loss, down} = await this._measureQuality();
            if (this.state !== 'joined') return; /* dropped meanwhile: _startResume told it */
            const rtt = rttMs || 0;
            this._setQuality(down                        ? 'lost' :
                                 loss >= 0.1 || rtt >= 400  ? 'poor' :
                                 loss >= 0.02 || rtt >= 150 ? 'fair' :
                                                              'good',
                             rttMs, loss);
        } catch {
            /* a PC closed under getStats: the next reading */
        } finally {
            this._qualityBusy = false;
        }
    }

    /* Keeps a reading; `connection-quality` when its quality changed. */
    _setQuality(quality, rttMs, loss) {
        const limited = [...this.receiving.values()].filter(r => r.limited).map(r => r.track);
        const prev = this.connectionQuality;
        this.connectionQuality = {quality, rttMs, loss, limited};
        if (!prev || prev.quality !== quality)
            this._emit('connection-quality', {quality, rttMs, loss, limited});
    }

    /* Round trip, loss since the last reading, and whether a PC is down, from both PCs' stats. */
    async _measureQuality() {
        let rttMs = null, loss = 0, down = false;
        const base = this._qualityBase || (this._qualityBase = new Map());
        for (const slot of [this._pub, this._sub]) {
            if (!slot) continue;
            const pc = slot.pc;
            if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed')
                down = true;
            const stats = await pc.getStats();
            let received = 0, lost = 0, pair = null;
            stats.forEach(r => {
                if (r.type === 'transport' && r.selectedCandidatePairId)
                    pair = stats.get(r.selectedCandidatePairId);
                else if (r.type === 'inbound-rtp') {
                    received += r.packetsReceived || 0;
                    lost += Math.max(0, r.packetsLost || 0);
                } else if (r.type === 'remote-inbound-rtp' && typeof r.fractionLost === 'number')
                    loss = Math.max(loss, r.fractionLost);
            });
            if (pair && typeof pair.currentRoundTripTime === 'number')
                rttMs = Math.max(rttMs || 0, Math.round(pair.currentRoundTripTime * 1000));
            const was = base.get(pc) || {received: 0, lost: 0};
            base.set(pc, {received, lost});
            const dr = received - was.received, dl = lost - was.lost;
            if (dr >= 0 && dl > 0) loss = Math.max(loss, dl / (dr + dl));
        }
        for (const pc of base.keys())
            if (pc !== (this._pub && this._pub.pc) && pc !== (this._sub && this._sub.pc))
                base.delete(pc);
        return {rttMs, loss, down};
    }

    /*
     * A cut network is silent before any PeerConnection says so (Chromium takes 5 s or more to
     * call a pair `disconnected`) and the WebSocket's TCP just stalls. So: a PC that has been
     * receiving (its transport's bytesReceived grew in 3 polls) and then gets nothing for
     * SILENCE_MS has its signaling probed (`room.info` within ICE_RESTART_ACK_MS); no answer
     * means the network is gone: resume with new media. An answer means the silence is the
     * room's (nobody sends), and nothing happens until the PC has been receiving again.
     */
    async _checkSilence() {
        if (this.state !== 'joined' || this._silenceBusy) return;
        this._silenceBusy = true;
        try {
            const now = Date.now();
            for (const slot of [this._pub, this._sub]) {
                if (!slot || typeof slot.pc.getStats !== 'function') continue;
                let bytes = 0;
                (await slot.pc.getStats()).forEach(r => {
                    if (r.type === 'transport' && typeof r.bytesReceived === 'number')
                        bytes += r.bytesReceived;
                });
                if (slot !== this._pub && slot !== this._sub) continue; /* replaced meanwhile */
                const rx = slot.rx || (slot.rx = {bytes, changedAt: now, polls: 0, active: false});
                if (bytes !== rx.bytes) {
                    rx.bytes = bytes;
                    rx.changedAt = now;
                    if (++rx.polls >= 3) rx.active = true;
                } else if (rx.active && now - rx.changedAt >= SILENCE_MS) {
                    rx.active = false;
                    rx.polls = 0;
                    this._silence(slot);
                }
            }
        } catch {
            /* a PC closed under getStats: the next poll looks again */
        } finally {
            this._silenceBusy = false;
        }
    }

    async _silence(slot) {
        if (this.state !== 'joined') return;
        try {
            await this.request('room.info', {}, {timeoutMs: ICE_RESTART_ACK_MS});
        } catch {
            if (this.state === 'joined' && (slot === this._pub || slot === this._sub))
                this._startResume('media_silent', null, {renew: true});
        }
    }

    /*
     * Takes who we are, our grants, the resume token and the room from a join (or resume)
     * result. After a resume (`missed`), what changed while we were away is emitted as events.
     */
    _applyResult(result, {missed = false} = {}) {
        /* the server tells who speaks right after the result, and only when someone does */
        if (this.speakers.length) this._setSpeakers([]);
        if (result.participant || !missed) this.participant = result.participant || null;
        if (Array.isArray(result.grants) || !missed)
            this.grants = Array.isArray(result.grants) ? result.grants : [];
        this._setResume(result.resume);
        this._setIceServers(result.ice_servers);
        /* the other live nodes: where to look when the session's node cannot be reached */
        if (result.cluster && Array.isArray(result.cluster.signal_urls))
            this._clusterUrls = result.cluster.signal_urls.map(signalUrlOf).filter(Boolean);
        const room = result.room || {};
        const oldParticipants = new Map(this.participants), oldTracks = new Map(this.tracks);
        const participants = this.participants, tracks = this.tracks;
        participants.clear();
        tracks.clear();
        for (const p of room.participants || [])
            if (p && p.id) participants.set(p.id, p);
        for (const t of room.tracks || [])
            if (t && t.id) tracks.set(t.id, t);
        if (!missed) return;
        for (const [id, t] of oldTracks)
            if (!tracks.has(id)) this._emit('track-unpublished', {track: t, reason: 'unknown'});
        for (const [id, p] of oldParticipants)
            if (!participants.has(id))
                this._emit('participant-left', {participant: p, reason: 'unknown'});
        for (const [id, p] of participants)
            if (!oldParticipants.has(id)) this._emit('participant-joined', {participant: p});
        for (const [id, t] of tracks)
            if (!oldTracks.has(id)) this._emit('track-published', {track: t});
    }

    /*
     * The server's ICE servers (join, resume, `ice.servers`): kept for the next PeerConnections
     * and given to the live ones, so an ICE restart uses a TURN credential that has not lapsed.
     * Servers the caller passed to join() stay as they are.
     */
    _setIceServers(list) {
        if (!Array.isArray(list) || this._iceFixed) return;
        this._iceServers = list;
        for (const slot of [this._pub, this._sub]) {
            if (!slot || typeof slot.pc.setConfiguration !== 'function') continue;
            try {
                slot.pc.setConfiguration({...slot.pc.getConfiguration(), iceServers: list});
            } catch {
                /* a closed PC: the next one is made with the new list */
            }
        }
        this._emit('ice-servers', {iceServers: list});
    }

    /* Keeps the newest resume token (and the grace windows, when given). */
    _setResume(r) {
        if (!r || typeof r.token !== 'string' || !r.token) return;
        const prev = this._resume || {};
        const seconds = (v, d) => (typeof v === 'number' && v > 0 ? v : d);
        this._resume = {
            token: r.token,
            dropGraceS: seconds(r.drop_grace_s, prev.dropGraceS || DEFAULT_DROP_GRACE_S),
            restartGraceS:
                seconds(r.restart_grace_s, prev.restartGraceS || DEFAULT_RESTART_GRACE_S),
        };
    }

    /* New subscriber and (with the publish or data grant) publisher PCs. */
    _makePcs({dataChannel}) {
        const sub = this._sub = this._makeSlot('subscriber');
        sub.pc.ontrack = ev => this._onTrack(ev);
        sub.pc.ondatachannel = ev => {
            if (ev.channel.label === DATA_LABEL && this._sub === sub) this._listenData(ev.channel);
        };
        if (this.grants.includes('publish') || this.grants.includes('data')) {
            const pub = this._pub = this._makeSlot('publisher');
            pub.pc.onnegotiationneeded = () => {
                if (this._pub !== pub || this.state !== 'joined') return;
                this._negotiatePublisher().catch(e => this._emitError(e, 'publisher negotiation'));
            };
            if (dataChannel && this.grants.includes('data')) this._openDataChannel();
        }
    }

    _openDataChannel() {
        const dc = this._dcOut = this._pub.pc.createDataChannel(DATA_LABEL, {ordered: true});
        dc.binaryType = 'arraybuffer';
        dc.onopen = () => {
            if (this._dcOut === dc) this._emit('data-open', {});
        };
    }

    _makeSlot(name) {
        const pc = new RTCPeerConnection(
            {iceServers: this._iceServers, iceTransportPolicy: this._icePolicy || 'all',
             bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
        const slot = new PcSlot(name, pc);
        pc.onicecandidate = ev => {
            const c = {
                pc: name,
                candidate: ev.candidate ? ev.candidate.candidate : '',
                sdp_mid: ev.candidate && ev.candidate.sdpMid != null ? ev.candidate.sdpMid : '0'
            };
            /* while reconnecting they wait: sent if the PC is kept */
            if (slot.accepted && this.state === 'joined')
                this._sendCandidate(c);
            else
                slot.localCandidates.push(c);
        };
        pc.onconnectionstatechange = () => {
            this._emit('media-state', {pc: name, state: pc.connectionState, source: 'local'});
            this._watchMedia(slot);
        };
        return slot;
    }

    _requirePublisher() {
        if (this.state === 'reconnecting')
            throw new HearthError('not_connected', 'reconnecting: try again once reconnected');
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
            if (pc.signalingState === 'closed' || this._pub !== slot) return;
            await pc.setLocalDescription(await pc.createOffer());
            /*
             * A refused offer leaves the PC in have-local-offer: the next round simply offers
             * again from there. (Rolling back the first offer of a max-bundle PC breaks
             * Chromium's next createOffer: "max-bundle configured but ... no BUNDLE group".)
             */
            const answer =
                await this.request('sdp.offer', {pc: 'publisher', sdp: pc.localDescription.sdp});
            if (this._pub !== slot) return; /* replaced by a resume meanwhile */
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
            if (pc.signalingState === 'closed' || this._sub !== slot) return;
            try {
                await pc.setRemoteDescription({type: 'offer', sdp});
                await this._flushRemoteCandidates(slot);
                await pc.setLocalDescription(await pc.createAnswer());
            } catch (e) {
                if (this._sub !== slot) return; /* replaced by a resume: nothing to refuse */
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
        ev.track.addEventListener('ended', () => {
            /* after a renew a new track may carry the same id */
            if (this.remoteTracks.get(ev.track.id) === entry) this.remoteTracks.delete(ev.track.id);
        });
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
            this._emit('data', {from, data, direct: false});
        };
    }

    /* ---- resume (docs/protocol.md §2.4) ---------------------------------------------------- */

    _canResume() {
        return this.autoResume && !this._leaving && !!(this._resume && this._resume.token) &&
            !!this._signalUrl;
    }

    /* The joined session's socket closed: resume, or the session is over. */
    _dropped(code) {
        const d = this._disconnect;
        this._disconnect = null;
        if (this._canResume() && resumable(d, code)) {
            const retryAfterMs = d && d.resume ? d.retryAfterMs : null;
            const signalUrl = d && d.resume ? d.signalUrl : null; /* `moved` */
            this._startResume(d ? d.reason : 'closed', code, {retryAfterMs, signalUrl});
        } else
            this._finish(this._disconnectReason || 'closed', code);
    }

    /*
     * A PC's connectionState changed: `failed`, or `disconnected` for MEDIA_DISCONNECTED_MS,
     * while joined means the network changed under us (the server may not see it): resume with
     * new media.
     */
    _watchMedia(slot) {
        clearTimeout(slot.downTimer);
        slot.downTimer = null;
        if (slot !== this._pub && slot !== this._sub) return;
        const state = slot.pc.connectionState;
        if (state === 'connected') {
            slot.iceRestarted = false;
            clearTimeout(slot.restartTimer);
            slot.restartTimer = null;
        } else if (state === 'failed') {
            this._mediaDropped(slot, 'media_failed');
        } else if (state === 'disconnected') {
            slot.downTimer = setTimeout(() => {
                slot.downTimer = null;
                if (slot.pc.connectionState === 'disconnected')
                    this._mediaDropped(slot, 'media_disconnected');
            }, MEDIA_DISCONNECTED_MS);
        }
    }

    /*
     * First an ICE restart on the same WebSocket (a network change on our side): the publisher PC
     * offers new credentials, the subscriber PC asks the server for a new offer (`ice.restart`).
     * When the signaling does not answer within ICE_RESTART_ACK_MS (it is down too), or the PC is
     * not connected again ICE_RESTART_MS later, resume with new media.
     */
    async _mediaDropped(slot, reason) {
        if (this.state !== 'joined' || (slot !== this._pub && slot !== this._sub)) return;
        if (!this._canResume()) return; /* the app sees media-state; nothing else to do */
        if (slot.iceRestarted || !this._ws || this._ws.readyState !== WS_OPEN) {
            this._startResume(reason, null, {renew: true});
            return;
        }
        slot.iceRestarted = true;
        this._emit('ice-restart', {pc: slot.name, reason});
        try {
            if (slot === this._sub) {
                await this.request('ice.restart', {pc: 'subscriber'},
                                   {timeoutMs: ICE_RESTART_ACK_MS});
            } else {
                await this.request('room.info', {}, {timeoutMs: ICE_RESTART_ACK_MS});
                slot.pc.restartIce(); /* negotiationneeded: an offer with new credentials */
            }
        } catch (e) {
            if (this.state === 'joined' && (slot === this._pub || slot === this._sub))
                this._startResume(reason, null, {renew: true});
            return;
        }
        clearTimeout(slot.restartTimer);
        slot.restartTimer = setTimeout(() => {
            slot.restartTimer = null;
            if (this.state === 'joined' && (slot === this._pub || slot === this._sub) &&
                slot.pc.connectionState !== 'connected')
                this._startResume(reason, null, {renew: true});
        }, ICE_RESTART_MS);
    }

    /*
     * Goes `reconnecting`: closes our socket (when still open) and schedules the first attempt,
     * at `signalUrl` when the server named one (the room moved), else where the session was.
     */
    _startResume(reason, code, {retryAfterMs = null, renew = false, signalUrl = null} = {}) {
        this.state = 'reconnecting';
        this._disconnectReason = null;
        this._disconnectMessage = '';
        for (const slot of [this._pub, this._sub])
            if (slot) {
                clearTimeout(slot.downTimer);
                slot.downTimer = null;
            }
        this._closeSocket(RESUME_CLOSE_CODE, 'resume');
        const now = Date.now();
        const graceS = Math.max(this._resume.dropGraceS, this._resume.restartGraceS);
        this._rc = {
            reason,
            code,
            lastCode: code,
            renew,
            home: this._signalUrl, /* the URL the session last succeeded on: first in the ring */
            startedAt: now,
            deadline: now + graceS * 1000,
            graceS,
            attempt: 0,
            timer: null,
        };
        if (signalUrl) this._signalUrl = signalUrl;
        this._scheduleResume(resumeDelayMs(1, retryAfterMs));
        this._setQuality('lost', null, null);
    }

    _scheduleResume(delayMs) {
        const rc = this._rc;
        rc.attempt++;
        rc.timer = setTimeout(() => {
            rc.timer = null;
            this._attemptResume(rc).catch(e => this._emitError(e, 'resume'));
        }, delayMs);
        this._emit(
            'reconnecting', {attempt: rc.attempt, reason: rc.reason, code: rc.code, delayMs});
    }

    /* True when both PCs are up (a PC never negotiated counts as up): the server may keep them. */
    _mediaConnected() {
        if (!this._sub) return false;
        return [this._pub, this._sub].every(
            slot => !slot || slot.pc.connectionState === 'connected' ||
                (slot.pc.connectionState === 'new' && !slot.pc.remoteDescription));
    }

    /*
     * The URL to try after an attempt at `failed` could not connect: the next of [the URL the
     * session last succeeded on, ...the other nodes' URLs], round-robin (that first one after a
     * URL outside the ring, e.g. a redirect's). Without a cluster list: the same URL again.
     */
    _nextSignalUrl(rc, failed) {
        const ring = [...new Set([rc.home, ...this._clusterUrls])];
        return ring[(ring.indexOf(failed) + 1) % ring.length];
    }

    /* One attempt: a new socket, hello within the connect timeout, `resume`. */
    async _attemptResume(rc) {
        if (this._rc !== rc) return;
        if (Date.now() >= rc.deadline) {
            this._resumeFailed(
                'resume_failed', rc.lastCode || 1006,
                `could not resume within ${rc.graceS} s (${rc.attempt - 1} attempts)`);
            return;
        }
        let result, connected = false;
        const url = this._signalUrl;
        try {
            await this._connect(url, {timeoutMs: RESUME_CONNECT_TIMEOUT_MS});
            connected = true;
            if (this._rc !== rc) return;
            /* a publisher restoration cut short cannot be kept: renew */
            const media =
                rc.renew || this._restorePlan || !this._mediaConnected() ? 'renew' : 'keep';
            result = await this._send(
                'resume', {token: this._resume.token, room: this._room, media},
                {timeoutMs: RESUME_REPLY_TIMEOUT_MS});
        } catch (e) {
            if (this._rc !== rc) return;
            const data = (e && e.data) || {};
            const d = this._disconnect; /* the attempt's socket said why it closed */
            this._disconnect = null;
            if (typeof data.close_code === 'number') rc.lastCode = data.close_code;
            const elsewhere = e && e.code === 'room_elsewhere' && signalUrlOf(data.signal_url);
            if (data.rejoin === true) {
                this._resumeFailed(e.code, 4009, e.message);
            } else if (elsewhere) {
                /* another node hosts the room now: go there promptly, within the same window
                 * (the server closes this socket, with whatever code: not a reason to stop) */
                this._closeSocket(RESUME_CLOSE_CODE, 'resume');
                this._signalUrl = elsewhere;
                this._scheduleResume(resumeDelayMs(1, null));
            } else if (d && !resumable(d, rc.lastCode)) {
                this._resumeFailed(d.reason, rc.lastCode, this._disconnectMessage);
            } else if (!RETRY_CODES.has(e && e.code)) {
                this._resumeFailed(
                    (e && e.code) || 'resume_failed', rc.lastCode || 1006, e && e.message);
            } else {
                /* not 1000: a socket the server may have bound our session to is not a leave */
                this._closeSocket(RESUME_CLOSE_CODE, 'resume');
                if (d && d.resume && d.signalUrl)
                    this._signalUrl = d.signalUrl; /* the room moved meanwhile */
                else if (!connected && CONNECT_FAILED_CODES.has(e.code))
                    this._signalUrl = this._nextSignalUrl(rc, url); /* that node may be dead */
                const retryAfter = e.code === 'draining' ? data.retry_after_ms :
                    d && d.resume                        ? d.retryAfterMs :
                                                           null;
                this._scheduleResume(
                    resumeDelayMs(rc.attempt + 1, retryAfter, Date.now() - rc.startedAt));
            }
            return;
        }
        if (this._rc === rc) this._resumed(result, rc);
    }

    _resumeFailed(reason, code, message) {
        this._rc = null;
        this._disconnectMessage = message || '';
        this._finish(reason, code);
    }

    /* The server took our resume: the same participant, its media kept or renewed. */
    _resumed(result, rc) {
        this._rc = null;
        this.state = 'joined';
        this._disconnect = this._disconnectReason = null;
        this._disconnectMessage = '';
        const kept = result.media === 'kept';
        this._applyResult(result, {missed: true});
        if (kept)
            this._keepMedia();
        else
            this._renewMedia();
        this._emit('reconnected', {
            media: kept ? 'kept' : 'renew',
            durationMs: Date.now() - rc.startedAt,
            attempts: rc.attempt
        });
    }

    /* `kept`: the PCs go on; send what waited meanwhile, finish a publisher offer cut short. */
    _keepMedia() {
        for (const slot of [this._pub, this._sub]) {
            if (!slot) continue;
            if (slot.accepted)
                for (const c of slot.localCandidates.splice(0)) this._sendCandidate(c);
            this._watchMedia(slot);
        }
        if (this._pub && this._pub.pc.signalingState === 'have-local-offer')
            this._negotiatePublisher().catch(e => this._emitError(e, 'publisher negotiation'));
    }

    /*
     * `renew`: both PCs are replaced. The remote tracks end (the server offers them again on the
     * new subscriber PC); the publisher PC gets the same tracks in the same m-line order.
     */
    _renewMedia() {
        const plan = this._restorePlan || this._publisherPlan();
        for (const slot of [this._pub, this._sub])
            if (slot) this._closeSlot(slot);
        this._pub = this._sub = this._dcOut = null;
        for (const r of this.remoteTracks.values()) r.track.stop();
        this.remoteTracks.clear();
        this._makePcs({dataChannel: false});
        this._restorePlan = plan;
        const restoring = this._restorePublisher(plan).then(
            () => {
                if (this._restorePlan === plan) this._restorePlan = null;
            },
            e => this._emitError(e, 'publisher restore'));
        const done = restoring.finally(() => {
            if (this._restoring === done) this._restoring = null;
        });
        this._restoring = done;
    }

    /*
     * What the publisher PC carries, in m-line order (its local description's, then anything
     * not negotiated yet): {data: true} for the data channel, else {kind, track, stream,
     * simulcast, entry} (track null: an m-line that no longer sends, kept so later mids stay).
     */
    _publisherPlan() {
        const slot = this._pub;
        if (!slot) return [];
        const pc = slot.pc;
        const desc = pc.localDescription;
        const transceivers = pc.getTransceivers();
        const plan = [], used = new Set();
        let data = false;
        const item = (t, kind) => {
            used.add(t);
            const track = t.sender.track;
            const entry = this._published.find(p => p.transceiver === t) ||
                (track && this._published.find(p => p.track === track));
            if (!track) return {kind, track: null};
            return {
                kind: track.kind,
                track,
                stream: entry ? entry.stream : null,
                simulcast: !!(entry && entry.simulcast),
                svc: entry ? entry.svc : null,
                codec: entry ? entry.codec : null,
                entry
            };
        };
        for (const section of desc && desc.sdp ? desc.sdp.split(/\r?\nm=/).slice(1) : []) {
            const kind = section.split(' ', 1)[0];
            const mid = /\na=mid:(\S+)/.exec(section);
            if (kind === 'application') {
                if (!data) plan.push({data: true});
                data = true;
                continue;
            }
            const t = mid && transceivers.find(x => x.mid === mid[1] && !used.has(x));
            if (t) plan.push(item(t, kind));
            else if (kind === 'audio' || kind === 'video') plan.push({kind, track: null});
        }
        if (!data) plan.unshift({data: true}); /* as _joined: the channel before any track */
        for (const t of transceivers)
            if (!used.has(t)) plan.push(item(t, t.receiver.track.kind));
        return plan;
    }

    /*
     * Offers the new publisher PC again with `plan`. A browser puts a new data channel's m-line
     * after the new tracks of the same offer, so the tracks before it go in the offer that opens
     * the channel and the rest in a second one: the mids come out as before.
     */
    async _restorePublisher(plan) {
        const slot = this._pub;
        if (!slot) return;
        let added = false;
        for (const item of plan) {
            if (this._pub !== slot) return;
            if (item.data) {
                if (!this.grants.includes('data')) continue;
                this._openDataChannel();
                await this._negotiatePublisher();
                added = false;
                continue;
            }
            if (!item.track && item.kind !== 'audio' && item.kind !== 'video') continue;
            if (!this.grants.includes('publish')) continue;
            if (!item.track) {
                slot.pc.addTransceiver(item.kind, {direction: 'inactive'});
            } else {
                const transceiver = addSendTransceiver(slot.pc, item.entry || item);
                if (item.entry) item.entry.transceiver = transceiver;
            }
            added = true;
        }
        if (added && this._pub === slot) await this._negotiatePublisher();
    }

    /* ---- ending -------------------------------------------------------------------------- */

    _closeSlot(slot) {
        clearTimeout(slot.restartTimer);
        slot.restartTimer = null;
        clearTimeout(slot.downTimer);
        slot.downTimer = null;
        const pc = slot.pc;
        pc.onicecandidate = pc.onconnectionstatechange = pc.ontrack = pc.ondatachannel =
            pc.onnegotiationneeded = null;
        pc.close();
    }

    /* Closes our socket (if any) without hearing from it again; pending requests reject. */
    _closeSocket(code = 1000, reason) {
        for (const p of this._pendingReplies.values()) {
            clearTimeout(p.timer);
            p.reject(new HearthError('disconnected', `${p.type}: the connection closed`));
        }
        this._pendingReplies.clear();
        const ws = this._ws;
        this._ws = null;
        if (this._connectAbort)
            this._connectAbort(new HearthError('disconnected', 'the connection was closed'));
        if (ws) {
            ws.onmessage = ws.onclose = ws.onerror = null;
            if (ws.readyState === WS_OPEN || ws.readyState === WS_CONNECTING) {
                try {
                    ws.close(code, reason);
                } catch {
                    ws.close();
                }
            }
        }
    }

    _teardown() {
        clearInterval(this._silenceTimer);
        this._silenceTimer = null;
        clearInterval(this._qualityTimer);
        this._qualityTimer = null;
        if (this._rc) {
            clearTimeout(this._rc.timer);
            this._rc = null;
        }
        for (const slot of [this._pub, this._sub])
            if (slot) this._closeSlot(slot);
        this._pub = this._sub = this._dcOut = null;
        this._closeSocket(1000);
    }

    _finish(reason, code) {
        const wasJoined = this.state === 'joined' || this.state === 'reconnecting';
        this._teardown();
        this.state = 'closed';
        if (this.speakers.length) this._setSpeakers([]);
        if (wasJoined && !this._closedEmitted) {
            this._closedEmitted = true;
            this._emit('disconnected', {reason, code, message: this._disconnectMessage || ''});
        }
    }

    /*
     * The server's `track.layers`: the encodings of the publisher transceiver at `mid` whose rid
     * is in `active` keep sending, the others pause (RTCRtpEncodingParameters.active), until a
     * later one names them. It waits in the publisher PC's queue (PcSlot.serial), so it never
     * runs in the middle of an offer/answer round nor under another call here, and reads the
     * parameters just before it sets them; it sets nothing when nothing changes. A PC replaced
     * meanwhile (a resume that renewed the media) is left alone: its new encodings all send,
     * which is what the server expects of new transports. `layers` fires once it is applied.
     */
    _setLayers(track, mid, active) {
        const slot = this._pub;
        const apply = async () => {
            if (!slot || slot !== this._pub) return;
            const t = slot.pc.getTransceivers().find(x => x.mid === mid);
            const entry = t && this._published.find(p => p.transceiver === t);
            if (!entry || !t.sender.track) return; /* not (or no longer) one of our tracks */
            const params = t.sender.getParameters();
            let changed = false;
            for (const e of params.encodings || []) {
                const on = active.includes(e.rid);
                if (!e.rid || (e.active !== false) === on) continue;
                e.active = on;
                changed = true;
            }
            if (changed) await t.sender.setParameters(params);
        };
        const run = slot ? slot.serial(apply) : Promise.resolve();
        run.catch(e => this._emitError(e, 'layers'))
            .finally(() => this._emit('layers', {track, mid, active}));
    }

    /* Who speaks now: kept and told (`speakers`). */
    _setSpeakers(list) {
        this.speakers = list;
        this._emit('speakers', {speakers: list});
    }

    /* Speakers whose track or participant went away before the server said so. */
    _dropSpeakers(gone) {
        const left = this.speakers.filter(s => !gone(s));
        if (left.length !== this.speakers.length) this._setSpeakers(left);
    }

    _emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, {detail}));
    }

    _emitError(error, context) {
        /* what a drop cut short is not news while resuming */
        if (this.state === 'reconnecting' && error &&
            (error.code === 'disconnected' || error.code === 'not_connected'))
            return;
        this._emit('error', {error, context});
    }
}
