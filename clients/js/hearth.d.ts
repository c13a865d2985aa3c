/*
 * Type declarations for hearth.js, the browser client for hearthd, written by hand from the
 * module (its JSDoc and the objects it really builds). Every name declared here exists in
 * hearth.js and every public name there is declared here: tests/browser/sdk_package.test.mjs
 * checks both ways, and compiles clients/js/examples against the packed package with
 * `tsc --strict`. The wire protocol behind these shapes is docs/protocol.md; the SDK's guide is
 * docs/sdk.md.
 */

/** The protocol version this module speaks. */
export declare const PROTOCOL_VERSION: 2;

/** Largest data channel message the server relays (bytes). */
export declare const MAX_DATA_BYTES: 65536;

/** One simulcast layer offered by `publish(stream, {simulcast: true})`. */
export interface SimulcastLayer {
    readonly rid: 'q' | 'h' | 'f';
    readonly scaleResolutionDownBy: number;
    readonly maxBitrate: number;
}

/** Simulcast layers offered by `publish(stream, {simulcast: true})`, lowest first. */
export declare const SIMULCAST_LAYERS: readonly SimulcastLayer[];

/** An error with the server's (or this module's) error code, e.g. `ticket_expired`, `timeout`. */
export declare class HearthError extends Error {
    /**
     * @param code machine-readable code (docs/protocol.md §3, or `timeout`, `disconnected`,
     *     `not_connected`, `message_too_large`, `http_<status>`, ...)
     * @param message human-readable text (default: the code)
     * @param data the whole error `data` object or HTTP body, when there is one
     */
    constructor(code: string, message?: string, data?: unknown);
    name: 'HearthError';
    /** Machine-readable code: the server's (docs/protocol.md §3) or the SDK's own. */
    code: string;
    /** The server's whole error `data` object or HTTP body, when there is one. */
    data: any;
}

/** A participant as the server describes it (docs/protocol.md §2). */
export interface Participant {
    id: string;
    user: string;
    device: string;
    joined_at_ms: number;
}

/** A track the server announced (join result's `room.tracks`, `track.published`). */
export interface TrackInfo {
    id: string;
    participant: string;
    kind: 'audio' | 'video';
    /** The publisher's participant id (the remote stream's id). */
    stream: string;
    /** The m-line of the track in its publisher's SDP. */
    mid: string;
}

/** The `room` object of a join or resume result. */
export interface RoomInfo {
    name: string;
    max_participants: number;
    /** The others already in the room (not us). */
    participants: Participant[];
    tracks: TrackInfo[];
}

/** The ticket response of POST /v1/join-tickets (`HearthClient.fetchTicket`). */
export interface Ticket {
    ticket: string;
    /** Seconds since the epoch. */
    expires_at: number;
    room: string;
    user: string;
    device: string;
    protocol_version: number;
    protocol_versions: {min: number; max: number};
    signal_url: string;
    ice_servers: RTCIceServer[];
    grants: string[];
    /** In a cluster: the node that hosts the room. */
    node?: string;
}

/** The `ack` data of `join` (and, with `resumed` and `media`, of `resume`). */
export interface JoinResult {
    participant: Participant;
    /** `publish`, `subscribe`, `data`, `moderate`, ... */
    grants: string[];
    room: RoomInfo;
    resume?: {token: string; drop_grace_s?: number; restart_grace_s?: number};
    ice_servers?: RTCIceServer[];
    /** In a cluster: the other live nodes' signal URLs. */
    cluster?: {signal_urls: string[]};
}

/** The server's `hello` data. */
export interface Hello {
    version: number;
    versions: {min: number; max: number};
    server: string;
    limits: {
        max_message_bytes: number;
        rate_per_s: number;
        burst: number;
        join_timeout_ms: number;
        ping_interval_s: number;
    };
}

/** One entry of the speaker list, loudest first. */
export interface Speaker {
    participant: string;
    /** The audio track's id (as in `track-published`). */
    track: string;
    /** Averaged loudness, 0..1. */
    level: number;
}

/** What we receive of a remote track with layers (`receiving` event, `client.receiving`). */
export interface Receiving {
    track: string;
    /** The layer forwarded now (`q`, `h`, `f`), null while none is. */
    rid: string | null;
    width: number | null;
    height: number | null;
    /** True while our downlink holds this track below the layer asked for. */
    limited: boolean;
}

/** A `connection-quality` reading (also `client.connectionQuality`). */
export interface ConnectionQuality {
    /** `lost` while reconnecting or a PeerConnection is down; else from loss and round trip:
     *  `poor` (>= 10 %, >= 400 ms), `fair` (>= 2 %, >= 150 ms), `good`. */
    quality: 'good' | 'fair' | 'poor' | 'lost';
    /** The selected ICE candidate pair's round trip (ms), the larger PC's; null before one. */
    rttMs: number | null;
    /** Share of media packets lost since the last reading, 0..1 (worse of down- and uplink);
     *  null while reconnecting. */
    loss: number | null;
    /** Remote tracks our downlink holds below the layer asked for (not counted in quality). */
    limited: string[];
}

/** A received remote track (`client.remoteTracks`, keyed by MediaStreamTrack.id). */
export interface RemoteTrack {
    participant: string;
    /** The server's track id, or null when it could not be told. */
    trackId: string | null;
    kind: string;
    track: MediaStreamTrack;
    stream: MediaStream;
    mid: string | null;
}

/** The target of `moderate()` (docs/protocol.md §2.3). */
export interface ModerationTarget {
    participant?: string;
    user?: string;
    device?: string;
    /** For mute and unmute. */
    track?: string;
    reason?: string;
    duration_s?: number;
    /** Put the action to a vote instead. */
    propose?: boolean;
}

export type ModerationAction =
    'mute' | 'unmute' | 'timeout' | 'untimeout' | 'kick' | 'ban' | 'unban';

/** An open or closed vote among the room's moderators. */
export interface Vote {
    id: string;
    action: object;
    emergency: boolean;
    state: string;
    opened_at_ms: number;
    deadline_ms: number;
    voters: string[];
    yes: number;
    no: number;
    quorum_pct: number;
    majority_pct: number;
}

/** The `ack` data of `moderate`. */
export interface ModerationResult {
    id: string;
    status: 'done' | 'proposed';
    vote?: Vote;
}

/** A `moderation` event's detail: the server's `moderation` message data. */
export interface ModerationEvent {
    /** mute, unmute, timeout, untimeout, kick, ban, unban, vote.opened, vote.cast, vote.closed,
     *  overturn, ... */
    event: string;
    id: string;
    action: string;
    actor: string;
    target: {participant?: string; user?: string; device?: string; track?: string};
    room?: string;
    reason: string;
    duration_s?: number;
    expires_at_ms?: number;
    vote?: Vote;
}

export interface HearthClientOptions {
    /** How long a request waits for its reply (default 10000). */
    requestTimeoutMs?: number;
    /** The WebSocket class (default: the global one). */
    WebSocket?: typeof WebSocket;
    /** Resume by itself after a dropped connection or failed media (default true). */
    autoResume?: boolean;
}

export interface FetchTicketOptions {
    room: string;
    /** Dev profile: sent as X-User-Id. */
    user?: string;
    /** Dev profile: X-Device-Id; always sent as `device_id`. */
    device?: string;
    /** A platform token, sent as `Authorization: Bearer`. */
    token?: string;
    /** Dev profile: grants to ask for, e.g. `{moderate: true}`. */
    grants?: Record<string, boolean>;
    /** Dev profile: a platform session id to bind the ticket to. */
    sid?: string;
    /** Default 2. */
    protocolVersion?: number;
}

export interface JoinOptions {
    /** The ticket string, or the whole fetchTicket() result. */
    ticket: string | Ticket;
    /** Default: the ticket response's `signal_url`. */
    signalUrl?: string;
    /** Default: the ticket response's `room`. */
    room?: string;
    /** Default: the ticket response's `ice_servers`. */
    iceServers?: RTCIceServer[];
    /** `relay`: media only through TURN. Default `all`. */
    iceTransportPolicy?: 'all' | 'relay';
    /** False: subscribe to tracks yourself with subscribe(). Default true. */
    autoSubscribe?: boolean;
}

export interface PublishOptions {
    /** Send video as three layers, rids q/h/f. */
    simulcast?: boolean;
    /** Send video as SVC in this scalability mode, e.g. 'L3T3'. */
    svc?: string | null;
    /** The video codec to send: 'VP8', 'VP9', 'H264' or 'AV1'. */
    codec?: string | null;
}

export type ClientState = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'closed';

/** Every event a HearthClient dispatches, with its `detail`. */
export interface HearthClientEventMap {
    'participant-joined': CustomEvent<{participant: Participant}>;
    /** `reason` is `unknown` for someone who left while we were reconnecting. */
    'participant-left': CustomEvent<{participant: Participant; reason: string}>;
    'participant-resumed': CustomEvent<{participant: Participant}>;
    'track-published': CustomEvent<{track: TrackInfo}>;
    /** `reason` only for a track that went while we were reconnecting (`unknown`). */
    'track-unpublished': CustomEvent<{track: Pick<TrackInfo, 'id' | 'participant'>; reason?: string}>;
    /** Who speaks now, loudest first; [] when nobody does. */
    'speakers': CustomEvent<{speakers: Speaker[]}>;
    /** The simulcast layers (rids) of our track that the server asked us to keep sending. */
    'layers': CustomEvent<{track: string; mid: string; active: string[]}>;
    /** The layer we now receive of a remote track with layers. */
    'receiving': CustomEvent<Receiving>;
    /** A remote MediaStreamTrack arrived. */
    'track': CustomEvent<{participant: string; track: MediaStreamTrack; stream: MediaStream;
                          kind: string; trackId: string | null}>;
    /** A message from participant `from`: to the room over the data channel (`direct` false),
     *  or to us alone with sendDataTo() (a string, `direct` true). */
    'data': CustomEvent<{from: string; data: string | ArrayBuffer; direct: boolean}>;
    /** Our data channel can send. */
    'data-open': CustomEvent<{}>;
    'media-state': CustomEvent<{pc: 'publisher' | 'subscriber'; state: string; reason?: string;
                                source: 'server' | 'local'}>;
    'moderation': CustomEvent<ModerationEvent>;
    /** Our connection dropped; resume attempt `attempt` starts in `delayMs`. */
    'reconnecting': CustomEvent<{attempt: number; reason: string; code: number | null;
                                 delayMs: number}>;
    /** A PeerConnection lost its path; ICE is restarted on the same WebSocket. */
    'ice-restart': CustomEvent<{pc: 'publisher' | 'subscriber'; reason: string}>;
    /** Resumed as the same participant. */
    'reconnected': CustomEvent<{media: 'kept' | 'renew'; durationMs: number; attempts: number}>;
    /** The session is over. */
    'disconnected': CustomEvent<{reason: string; code: number; message: string}>;
    'ice-servers': CustomEvent<{iceServers: RTCIceServer[]}>;
    /** How our connection does, each time `quality` changes (measured every 2 s). */
    'connection-quality': CustomEvent<{quality: ConnectionQuality['quality'];
                                       rttMs: number | null; loss: number | null;
                                       limited: string[]}>;
    /** Something failed outside any awaited call. */
    'error': CustomEvent<{error: unknown; context: string}>;
}

/** One participant's connection to a hearthd room. */
export declare class HearthClient extends EventTarget {
    constructor(options?: HearthClientOptions);

    requestTimeoutMs: number;
    autoResume: boolean;
    state: ClientState;
    /** Our participant object from the join result, or null. */
    participant: Participant | null;
    /** Grants of this session (`publish`, `subscribe`, `data`, `moderate`, ...). */
    grants: string[];
    /** Others in the room: participant id -> participant. */
    participants: Map<string, Participant>;
    /** Tracks the server announced: track id -> track. */
    tracks: Map<string, TrackInfo>;
    /** Who speaks in the room now, loudest first (us too). */
    speakers: Speaker[];
    /** What we receive of each remote track with layers: track id -> Receiving. */
    receiving: Map<string, Receiving>;
    /** Received tracks: MediaStreamTrack.id -> RemoteTrack. */
    remoteTracks: Map<string, RemoteTrack>;
    /** The server's `hello` data, or null. */
    hello: Hello | null;
    /** The latest connection-quality reading, or null before the first (2 s after join). */
    connectionQuality: ConnectionQuality | null;

    /** Asks hearthd for a join ticket (POST /v1/join-tickets); `baseUrl` '' is this origin. */
    static fetchTicket(baseUrl: string, options: FetchTicketOptions): Promise<Ticket>;

    /** Connects to the signaling WebSocket and joins the room. */
    join(options: JoinOptions): Promise<JoinResult>;
    /** Adds every track of `stream` to the publisher PC; one transceiver per track. */
    publish(stream: MediaStream, options?: PublishOptions): Promise<RTCRtpTransceiver[]>;
    /** Stops sending one of our tracks and renegotiates. */
    unpublish(track: MediaStreamTrack): Promise<void>;
    /** Sends `newTrack` in place of the published `oldTrack` (device switching), no renegotiation. */
    replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): Promise<void>;
    /** Sends a message (at most 65536 bytes) to everyone else in the room. */
    sendData(data: string | ArrayBuffer | ArrayBufferView): void;
    /** Sends a text message to one participant of the room (over the signaling WebSocket). */
    sendDataTo(participantId: string, text: string): Promise<{}>;
    /** Starts receiving a track (after join with autoSubscribe: false). */
    subscribe(trackId: string): Promise<{}>;
    /** Stops receiving a track. */
    unsubscribe(trackId: string): Promise<{}>;
    /** Asks the server to stop forwarding a track for now. */
    pause(trackId: string): Promise<{}>;
    /** Resumes a paused track. */
    resume(trackId: string): Promise<{}>;
    /** Chooses the layer received for a track: q, h or f (lowest to best). */
    setLayer(trackId: string, rid: 'q' | 'h' | 'f'): Promise<{}>;
    /** Asks for the smallest layer of a track at least this large. */
    setSize(trackId: string, width: number, height: number): Promise<{}>;
    /** Pins a remote track (served first when the downlink is short), or unpins it. */
    pin(trackId: string, pinned?: boolean): Promise<{}>;
    /** A moderation action (needs the `moderate` grant). */
    moderate(action: ModerationAction, target?: ModerationTarget): Promise<ModerationResult>;
    /** A moderator's ballot on an open vote. */
    vote(actionId: string, approve: boolean): Promise<{id: string; vote: Vote}>;
    /** The two PeerConnections' statistics (remote media's inbound-rtp is on `subscriber`). */
    getStats(): Promise<{publisher: RTCStatsReport | null; subscriber: RTCStatsReport | null}>;
    /** The publisher RTCPeerConnection (null before join or without publish/data grants). */
    readonly publisherPc: RTCPeerConnection | null;
    /** The subscriber RTCPeerConnection (null before join). */
    readonly subscriberPc: RTCPeerConnection | null;
    /** True while our data channel is open (sendData() works). */
    readonly dataReady: boolean;
    /** Our participant id, or null before join. */
    readonly participantId: string | null;
    /** Leaves the room; `disconnected` with reason `left` follows. Safe in any state. */
    leave(): Promise<void>;
    /** Sends one request of docs/protocol.md and resolves with the `ack`'s data. */
    request(type: string, data?: object, options?: {timeoutMs?: number}): Promise<any>;

    addEventListener<K extends keyof HearthClientEventMap>(
        type: K, listener: (this: HearthClient, ev: HearthClientEventMap[K]) => any,
        options?: boolean | AddEventListenerOptions): void;
    addEventListener(
        type: string, listener: EventListenerOrEventListenerObject | null,
        options?: boolean | AddEventListenerOptions): void;
    removeEventListener<K extends keyof HearthClientEventMap>(
        type: K, listener: (this: HearthClient, ev: HearthClientEventMap[K]) => any,
        options?: boolean | EventListenerOptions): void;
    removeEventListener(
        type: string, listener: EventListenerOrEventListenerObject | null,
        options?: boolean | EventListenerOptions): void;
}
