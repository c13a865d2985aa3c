/*
 * An example app on hearth-client, in TypeScript: the code docs/sdk.md shows, piece by piece,
 * each a function an app can take as it is. tests/browser/sdk_package.test.mjs packs clients/js
 * (`npm pack`), installs the tarball beside a copy of this folder, compiles it with
 * `tsc --strict`, and calls these functions in Chromium against a real hearthd.
 */
import {
    HearthClient,
    HearthError,
    MAX_DATA_BYTES,
    type ConnectionQuality,
    type ModerationEvent,
    type Speaker,
} from 'hearth-client';

/* ---- join ------------------------------------------------------------------------------ */

/** This tab's device id: a second session of the same user and device replaces the first. */
const tabId = `tab-${crypto.randomUUID().slice(0, 8)}`;

/**
 * Joins `room` on the hearthd at `baseUrl` ('' for this page's origin). In hearthd's dev profile
 * the user name is enough; in production pass your platform's token (`{room, token}`) instead.
 * With `autoSubscribe: false` the app chooses what to receive (see `subscribeWithQuality`).
 */
export async function joinRoom(baseUrl: string, room: string, user: string,
                               {moderator = false, autoSubscribe = true} = {}):
    Promise<HearthClient> {
    const client = new HearthClient();
    const ticket = await HearthClient.fetchTicket(
        baseUrl, {room, user, device: tabId, grants: moderator ? {moderate: true} : {}});
    const result = await client.join({ticket, autoSubscribe});
    console.log(`joined ${result.room.name} as ${result.participant.id} with`,
                result.grants, 'already there:', result.room.participants.map(p => p.user));
    return client;
}

/* ---- publish, mute, switch devices ----------------------------------------------------- */

export interface LocalMedia {
    mic: MediaStreamTrack;
    camera: MediaStreamTrack;
}

/** Publishes the microphone and the camera, the camera in three layers (simulcast). */
export async function publishMicAndCamera(client: HearthClient): Promise<LocalMedia> {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
    await client.publish(stream, {simulcast: true});
    return {mic: stream.getAudioTracks()[0], camera: stream.getVideoTracks()[0]};
}

/**
 * Mutes or unmutes a published track: a disabled track sends silence (audio) or black frames
 * (video) and stays published, so unmuting is instant and the others keep its track id.
 */
export function setMuted(track: MediaStreamTrack, muted: boolean): void {
    track.enabled = !muted;
}

/** Opens another camera or microphone by its deviceId (from enumerateDevices()). */
export async function openDevice(kind: 'audioinput' | 'videoinput', deviceId: string):
    Promise<MediaStreamTrack> {
    const constraint = {deviceId: {exact: deviceId}};
    const stream = await navigator.mediaDevices.getUserMedia(
        kind === 'audioinput' ? {audio: constraint} : {video: constraint});
    return stream.getTracks()[0];
}

/** Sends `next` instead of `current` (same kind), keeping its mute state; stops `current`. */
export async function switchDevice(client: HearthClient, current: MediaStreamTrack,
                                   next: MediaStreamTrack): Promise<MediaStreamTrack> {
    next.enabled = current.enabled;
    await client.replaceTrack(current, next);
    current.stop();
    return next;
}

/* ---- receive ---------------------------------------------------------------------------- */

/**
 * For a client joined with `autoSubscribe: false`: subscribes to every track published (now and
 * later), asking for video at most `maxWidth` x `maxHeight` (the smallest layer at least that
 * large: the size of the tile that shows it).
 */
export function subscribeWithQuality(client: HearthClient, maxWidth: number, maxHeight: number):
    void {
    const take = async (trackId: string, kind: string) => {
        await client.subscribe(trackId);
        if (kind === 'video') await client.setSize(trackId, maxWidth, maxHeight);
    };
    for (const t of client.tracks.values()) void take(t.id, t.kind);
    client.addEventListener('track-published', e => {
        void take(e.detail.track.id, e.detail.track.kind);
    });
}

/** Shows every remote track in a media element appended to `container`. */
export function showRemoteMedia(client: HearthClient, container: HTMLElement): void {
    client.addEventListener('track', e => {
        const {track, participant, trackId} = e.detail;
        const el = document.createElement(track.kind === 'video' ? 'video' : 'audio');
        el.autoplay = true;
        if (el instanceof HTMLVideoElement) el.playsInline = true;
        el.srcObject = new MediaStream([track]);
        el.dataset.participant = participant;
        el.dataset.track = trackId ?? '';
        container.append(el);
        track.addEventListener('ended', () => el.remove());
    });
}

/* ---- data ------------------------------------------------------------------------------- */

export interface ChatLine {
    from: string;
    text: string;
    /** Sent to us alone (sendTo), not to the whole room. */
    direct: boolean;
}

export interface Chat {
    /** To everyone else in the room, over the data channel. */
    send(text: string): void;
    /** To one participant only, over the signaling connection. */
    sendTo(participant: string, text: string): Promise<void>;
}

/** A chat: lines to the room or to one participant; every line we get arrives at onLine. */
export function chat(client: HearthClient, onLine: (line: ChatLine) => void): Chat {
    client.addEventListener('data', e => {
        const {from, data, direct} = e.detail;
        if (typeof data === 'string') onLine({from, text: data, direct});
    });
    return {
        send(text: string) {
            if (new TextEncoder().encode(text).length > MAX_DATA_BYTES)
                throw new Error('too long for one message');
            client.sendData(text); /* throws HearthError not_connected before `data-open` */
        },
        async sendTo(participant: string, text: string) {
            await client.sendDataTo(participant, text);
        },
    };
}

/* ---- moderation ------------------------------------------------------------------------- */

/** Mutes a participant's track for the whole room (needs the `moderate` grant). */
export async function muteForEveryone(client: HearthClient, participant: string, track: string,
                                      reason: string): Promise<string> {
    try {
        const r = await client.moderate('mute', {participant, track, reason});
        return r.status; /* 'done', or 'proposed' when the room votes on it */
    } catch (e) {
        if (e instanceof HearthError && e.code === 'not_moderator') return 'not allowed';
        throw e;
    }
}

/** Kicks someone; under the default policy that opens a vote among the moderators. */
export async function kick(client: HearthClient, participant: string, reason: string) {
    return client.moderate('kick', {participant, reason, duration_s: 600});
}

/** Logs what moderation does in the room; a moderator approves every vote it is asked for. */
export function followModeration(client: HearthClient, log: (e: ModerationEvent) => void): void {
    client.addEventListener('moderation', e => {
        log(e.detail);
        const vote = e.detail.vote;
        if (e.detail.event === 'vote.opened' && vote && client.grants.includes('moderate') &&
            client.participant && vote.voters.includes(client.participant.user))
            client.vote(e.detail.id, true).catch(() => {/* already voted, closed... */});
    });
}

/* ---- the session: resume, speakers, quality ---------------------------------------------- */

export type Status = 'connected' | 'reconnecting' | 'ended';

/** Calls onStatus as the session drops, resumes by itself (or cannot), and ends. */
export function followSession(client: HearthClient, onStatus: (s: Status, why: string) => void):
    void {
    client.addEventListener('reconnecting', e => {
        onStatus('reconnecting', `${e.detail.reason}, attempt ${e.detail.attempt}`);
    });
    client.addEventListener('reconnected', e => {
        onStatus('connected', `resumed in ${e.detail.durationMs} ms (media ${e.detail.media})`);
    });
    client.addEventListener('disconnected', e => {
        onStatus('ended', `${e.detail.reason} (${e.detail.code}) ${e.detail.message}`);
    });
}

/** Calls onSpeakers with who speaks now, loudest first ([] when nobody does). */
export function followSpeakers(client: HearthClient, onSpeakers: (s: Speaker[]) => void): void {
    client.addEventListener('speakers', e => onSpeakers(e.detail.speakers));
}

/** Calls onQuality each time our connection's quality changes (measured every 2 s). */
export function followQuality(client: HearthClient,
                              onQuality: (q: ConnectionQuality) => void): void {
    client.addEventListener('connection-quality', e => onQuality(e.detail));
}
