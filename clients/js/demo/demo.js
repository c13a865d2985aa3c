/*
 * The hearth demo app, served by hearthd at / and /demo/: pick a room from the list (or type
 * one), join, send camera and microphone, see and hear everyone else, mute, stop the camera,
 * share the screen, chat over the data channel, moderate. It uses only the SDK's public API
 * (/sdk/hearth.js), so it doubles as an example of it.
 *
 * Query string: room, user, device, autojoin=1, server=<hearthd base URL> (default: this page's
 * origin), publish=0 (receive only), simulcast=1, svc=L3T3 (SVC in that scalability mode), codec=AV1
 * (the video codec to send; SVC: VP9 by default),
 * camera=WxH; with hearthd's dev auth also moderate=1 (ask for the moderate grant) and
 * sid=<platform session id>.
 *
 * Device: without ?device= each tab is its own device, `tab-` and 8 hex digits kept in
 * sessionStorage (a reload keeps it, so a reloaded tab replaces its own old session). A tab that
 * finds another tab of this browser already using its id (a duplicated tab copies
 * sessionStorage; asked over a BroadcastChannel) takes a new one. hearthd replaces a session
 * only for the same user and device, so two tabs with the same name are two participants.
 *
 * Rooms: the list (#rooms) comes from GET /v1/rooms/public (rooms.public_list, on in the dev
 * profile) while the page is visible: every 5 s out of a call, every 30 s in one, and after joins
 * and leaves in our room; a click joins that room (leaving the current one first). When the server does not list its rooms (404), #rooms-note
 * says so and the Room field still works.
 *
 * Controls (#controls, while joined): Mute / Unmute (the microphone track's `enabled`), Stop /
 * Start camera (the camera track's `enabled`: black frames, the same track id), Share screen /
 * Stop sharing (getDisplayMedia, published as another video track, unpublished on stop or when
 * the browser's own "Stop sharing" ends it), Leave. The protocol has no "muted" flag (docs/sdk.md),
 * so the page tells the others itself: a data message `{"hearthDemo":"state","mic","camera",
 * "screen"}` (`screen`: the publisher mid of the screen track, or null), sent over the data channel
 * to the room on each change and with `sendDataTo` to each newcomer, only while something is
 * off; these messages are not chat (not in `messages`, `lastData` or the chat log). A remote
 * tile shows "muted" (.mic-off) and the camera-off placeholder (class `camera-off`) from them,
 * and "muted by a moderator" (.mod-muted) from the server's `moderation` mute / unmute events.
 * A screen track gets its own tile (class `screen`, data-screen-of=<participant id>).
 *
 * Moderators get Mute / Timeout / Kick / Ban buttons next to each participant (Mute silences
 * the participant's audio tracks for the room, Unmute undoes it) and Approve / Reject on open
 * votes; everyone sees what moderation did and why (docs/moderation.md).
 *
 * Whoever speaks (the SDK's `speakers` event: docs/protocol.md §2.6) has their tile and their
 * entry in the participant list outlined (CSS class `speaking`, us included), and their names
 * in the "speaking" line under the list. Each tile's caption names the video layer it receives
 * (the SDK's `receiving` event, §2.8), e.g. "alice · h 640×360", and its .quality badge the
 * size and frame rate shown (the video element's counters, every 2 s; ours: the SDK's connection
 * quality). Its 📌
 * button (top right) pins the participant's video (the SDK's pin(): our downlink serves it
 * first) or unpins it; a pinned tile is marked (CSS class `pinned`: a frame and a "pinned"
 * badge).
 *
 * When the connection drops (a restart of hearthd, a network change) the SDK resumes the session
 * by itself (docs/protocol.md §2.4): the page shows the "reconnecting…" banner (#reconnecting)
 * meanwhile, hides it once resumed, and says so plainly when the session could not be resumed.
 * A join that fails shows the server's message and code in #notice (class `error`), e.g.
 * "Could not join: ... (bad_request)", or that the server could not be reached.
 *
 * window.hearthDemo is the handle the browser tests (tests/browser/) drive; keep these names:
 *   HearthClient        the SDK class
 *   client              the current HearthClient, or null
 *   join(options?)      joins with the form's values (options override: room, user, device,
 *                       server, publish, simulcast); resolves with the join result
 *   leave()             leaves; resolves when closed
 *   participants()      [{id, user, device}] of the others in the room, from signaling events
 *   stats()             {<participant id>: {user, framesDecoded, totalSamplesReceived}} summed
 *                       over the subscriber PC's inbound-rtp video / audio streams
 *   sendChat(text)      sends a chat line over the data channel
 *   lastData            the last data message received: {from, data}, or null
 *   messages            every data message received, oldest first
 *   errors              every error event's text, oldest first
 *   published           a Promise settled when publishing finished (null before join)
 *   dataOpen            true once our data channel can send
 *   moderation          every `moderation` event's data, oldest first
 *   votes               open votes: action id -> vote (from vote.opened / vote.cast)
 *   notice              the last notice shown to this participant (moderation, a failed
 *                       join), or ''
 *   reconnects          every `reconnecting` / `reconnected` event, oldest first:
 *                       {event, at (Date.now()), ...its detail}
 *   speakers            who speaks now, loudest first: the last `speakers` event's list,
 *                       [{participant, track, level}]
 *   layers              every `layers` event (the simulcast layers the server asked us to
 *                       keep sending, the others paused), oldest first:
 *                       {at (Date.now()), track, mid, active}
 *   pinned              the participant ids whose video we pinned (a Set)
 *   pin(id, pinned?)    pins (or, with false, unpins) a participant's video, as its tile's
 *                       📌 button does; resolves when the server acknowledged
 *   device              this tab's device id (?device=, or the tab's own)
 *   local               what we send: {mic, camera} (true: on), screen (true while sharing)
 *   setMic(on)          unmutes (true) or mutes (false) our microphone, as #mic does
 *   setCamera(on)       starts (true) or stops (false) our camera, as #camera does
 *   shareScreen(on)     starts (true) or stops (false) sharing the screen, as #screen does;
 *                       resolves when published / unpublished
 *   remote(id)          what a participant told us it sends: {mic, camera, screen} (true: on;
 *                       screen: its publisher mid or null), and modMuted (true while a
 *                       moderator's mute holds one of its audio tracks)
 *   rooms               the last room list [{room, participants}], or null (not listed)
 *   refreshRooms()      fetches the room list now; resolves with `rooms`
 *   lastError           the last failed join's {code, message}, or null
 */
import {HearthClient} from '/sdk/hearth.js';

const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);
const STATE_PREFIX = '{"hearthDemo":"state"';

const demo = {
    HearthClient,
    client: null,
    lastData: null,
    messages: [],
    errors: [],
    published: null,
    dataOpen: false,
    moderation: [],
    votes: new Map(),
    notice: '',
    reconnects: [],
    speakers: [],
    layers: [],
    pinned: new Set(),
    pin: pinParticipant,
    join,
    leave,
    participants,
    stats,
    sendChat,
    device: params.get('device') || tabDevice(),
    local: {mic: true, camera: true, screen: false},
    setMic,
    setCamera,
    shareScreen,
    remote: id => ({...(remoteState.get(id) || defaultState()), modMuted: modMuted(id)}),
    rooms: null,
    refreshRooms,
    lastError: null,
};
window.hearthDemo = demo;

/* Others in the room: participant id -> {id, user, device}. */
const others = new Map();
/* What each other participant said it sends (their state messages): id -> {mic, camera, screen}. */
const remoteState = new Map();
/* Track ids a moderator muted (moderation mute / unmute events). */
const mutedByModerator = new Set();
let localStream = null;
let screen = null; /* while sharing: {stream, track, mid} */
let roomName = '';
/* Our own track ids, as moderation events name them (a moderator's mute of ours). */
const myTracks = new Set();

function log(text, cls) {
    const li = document.createElement('li');
    li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    if (cls) li.className = cls;
    $('log').prepend(li);
}

function setStatus(text) {
    $('status').textContent = text;
}

/* A user name, with the device when someone else in the room has the same name. */
function displayName(p) {
    const me = demo.client && demo.client.participant;
    const all = [...others.values(), ...(me ? [me] : [])];
    const twin = all.some(o => o.id !== p.id && o.user === p.user);
    return twin && p.device && p.device !== 'default' ? `${p.user} · ${p.device}` : p.user;
}

function nameOf(id) {
    const p = others.get(id);
    if (p) return displayName(p);
    const me = demo.client && demo.client.participant;
    return me && me.id === id ? 'you' : id;
}

/* ---- this tab's device id ----------------------------------------------------------------- */

function newDevice() {
    const b = crypto.getRandomValues(new Uint8Array(4)); /* randomUUID needs a secure context */
    return `tab-${[...b].map(x => x.toString(16).padStart(2, '0')).join('')}`;
}

function tabDevice() {
    let id = null;
    try {
        id = sessionStorage.getItem('hearth-demo-device');
        if (!id) sessionStorage.setItem('hearth-demo-device', id = newDevice());
    } catch {
        id = id || newDevice(); /* storage refused: one id per page load */
    }
    return id;
}

/* A duplicated tab starts with its original's sessionStorage: ask the other tabs whether one
 * uses our id, and take a new one if so. Resolves within 150 ms. */
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('hearth-demo-tabs') : null;
const deviceChecked = (async () => {
    if (!tabs || params.get('device')) return;
    let taken = false;
    tabs.addEventListener('message', ({data}) => {
        if (data && data.ask === demo.device) tabs.postMessage({taken: demo.device});
        if (data && data.taken === demo.device) taken = true;
    });
    tabs.postMessage({ask: demo.device});
    await new Promise(r => setTimeout(r, 150));
    if (taken) {
        demo.device = newDevice();
        try {
            sessionStorage.setItem('hearth-demo-device', demo.device);
        } catch { /* one id per page load */ }
    }
    $('state-device').textContent = demo.device;
})();

/* ---- participants ------------------------------------------------------------------------- */

function renderParticipants() {
    const ul = $('participants');
    ul.replaceChildren();
    const me = demo.client && demo.client.participant;
    if (me) {
        const li = document.createElement('li');
        li.className = 'me';
        li.dataset.participant = me.id;
        li.textContent = `${displayName(me)} (you)`;
        ul.append(li);
    }
    for (const p of others.values()) {
        const li = document.createElement('li');
        li.dataset.participant = p.id;
        li.append(displayName(p));
        const st = demo.remote(p.id);
        if (st.modMuted || !st.mic) {
            const s = document.createElement('span');
            s.className = 'state';
            s.textContent = st.modMuted ? 'muted by a moderator' : 'muted';
            li.append(s);
        }
        if (isModerator()) li.append(modButtons(p));
        ul.append(li);
    }
    markSpeakers();
}

/* ---- who speaks ---------------------------------------------------------------------------- */

/* Outline the tiles and list entries of whoever speaks now (demo.speakers), and name them. */
function markSpeakers() {
    const speaking = new Set(demo.speakers.map(s => s.participant));
    const me = demo.client && demo.client.participant;
    for (const el of document.querySelectorAll('.tile.remote, #participants li'))
        el.classList.toggle('speaking', speaking.has(el.dataset.participant));
    $('local-tile').classList.toggle('speaking', !!me && speaking.has(me.id));
    const names = [...speaking].map(nameOf);
    $('speaking').textContent = names.length ? `speaking: ${names.join(', ')}` : '';
}

function onSpeakers({speakers}) {
    demo.speakers = speakers;
    markSpeakers();
}

/* ---- moderation ---------------------------------------------------------------------------- */

const isModerator = () => !!(demo.client && demo.client.grants.includes('moderate'));

function tracksOf(participantId) {
    return [...demo.client.tracks.values()].filter(t => t.participant === participantId);
}

/* Is one of a participant's audio tracks held by a moderator's mute? (ours: participant id) */
function modMuted(participantId) {
    const c = demo.client;
    if (!c) return false;
    const me = c.participant;
    if (me && me.id === participantId) return [...myTracks].some(t => mutedByModerator.has(t));
    return tracksOf(participantId).some(t => t.kind === 'audio' && mutedByModerator.has(t.id));
}

async function act(action, target) {
    const reason = action === 'unmute' ? '' : (window.prompt(`Reason to ${action}?`, '') || '');
    try {
        const r = await demo.client.moderate(action, {...target, reason});
        log(`${action}: ${r.status}${r.vote ? ' (a vote opened)' : ''}`);
    } catch (e) {
        log(`${action} refused: ${e.code || e.message}`, 'error');
    }
}

/* Mute (or unmute) a participant's audio tracks for the room, with one reason for all. */
async function muteAudio(p, mute) {
    const audio = tracksOf(p.id).filter(t => t.kind === 'audio');
    if (!audio.length) {
        log(`${displayName(p)} sends no audio`, 'error');
        return;
    }
    const reason = mute ? (window.prompt('Reason to mute?', '') || '') : '';
    for (const t of audio) {
        try {
            const r = await demo.client.moderate(mute ? 'mute' : 'unmute', {track: t.id, reason});
            log(`${mute ? 'mute' : 'unmute'}: ${r.status}${r.vote ? ' (a vote opened)' : ''}`);
        } catch (e) {
            log(`${mute ? 'mute' : 'unmute'} refused: ${e.code || e.message}`, 'error');
        }
    }
}

function modButtons(p) {
    const span = document.createElement('span');
    span.className = 'mod';
    const name = displayName(p);
    const button = (label, fn) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = label;
        b.setAttribute('aria-label', `${label} ${name}`);
        b.addEventListener('click', fn);
        span.append(b);
    };
    if (modMuted(p.id))
        button('Unmute', () => muteAudio(p, false));
    else
        button('Mute', () => muteAudio(p, true));
    button('Timeout', () => act('timeout', {participant: p.id, duration_s: 300}));
    button('Kick', () => act('kick', {participant: p.id}));
    button('Ban', () => act('ban', {participant: p.id}));
    return span;
}

function describe(m) {
    const who = (m.target && (m.target.user || m.target.participant || m.target.track)) || '';
    const why = m.reason ? `: ${m.reason}` : '';
    switch (m.event) {
    case 'vote.opened': return `${m.actor} asks the moderators to ${m.action} ${who}${why}`;
    case 'vote.cast': return `a vote on ${m.action} ${who}: ${m.vote.yes} yes, ${m.vote.no} no`;
    case 'vote.closed': return `the vote on ${m.action} ${who} ${m.vote.state}`;
    case 'overturn': return `the kick of ${who} was overturned: they may return`;
    default: return `${m.actor} ${m.event} ${who}${why}`;
    }
}

function renderVotes() {
    const ul = $('votes');
    ul.replaceChildren();
    for (const [id, v] of demo.votes) {
        const li = document.createElement('li');
        li.textContent = `${v.action.action} ${(v.action.target || {}).user || ''} (${v.yes} yes, ${v.no} no) `;
        if (isModerator()) {
            for (const [label, yes] of [['Approve', true], ['Reject', false]]) {
                const b = document.createElement('button');
                b.type = 'button';
                b.textContent = label;
                b.addEventListener('click', () => demo.client.vote(id, yes).catch(
                    e => log(`vote refused: ${e.code || e.message}`, 'error')));
                li.append(b);
            }
        }
        ul.append(li);
    }
    $('votes-section').hidden = demo.votes.size === 0;
}

/* Is a moderation event about this session? As hearthd applies it (src/signal/moderate.c): a
 * mute names one participant's track; the other actions reach every session of the target
 * user (of one device when named), so another tab of the same user is told too. */
function targetsMe(m) {
    const me = demo.client && demo.client.participant;
    const t = m.target;
    if (!me || !t) return false;
    if (m.event === 'mute' || m.event === 'unmute' || !t.user) return t.participant === me.id;
    return t.user === me.user && (!t.device || t.device === me.device);
}

function onModeration(m) {
    demo.moderation.push(m);
    log(describe(m), 'moderation');
    if (m.event === 'vote.opened' || m.event === 'vote.cast') demo.votes.set(m.id, m.vote);
    if (m.event === 'vote.closed') demo.votes.delete(m.id);
    renderVotes();
    const mine = targetsMe(m);
    if ((m.event === 'mute' || m.event === 'unmute') && m.target && m.target.track) {
        if (m.event === 'mute') mutedByModerator.add(m.target.track);
        else mutedByModerator.delete(m.target.track);
        if (mine) myTracks.add(m.target.track);
        const owner = mine ? demo.client.participant.id :
            (demo.client.tracks.get(m.target.track) || {}).participant || m.target.participant;
        if (owner) renderTile(owner);
        renderParticipants();
    }
    if (mine && ['mute', 'timeout', 'untimeout', 'unmute', 'overturn'].includes(m.event)) {
        showNotice(m.event === 'timeout' ?
            `${m.actor} timed you out${m.reason ? `: ${m.reason}` : ''}: you can listen, not speak` :
            describe(m));
    }
}

function participants() {
    return [...others.values()].map(p => ({id: p.id, user: p.user, device: p.device}));
}

/* ---- what the others send: their state messages -------------------------------------------- */

const defaultState = () => ({mic: true, camera: true, screen: null});

function myState() {
    return {hearthDemo: 'state', mic: demo.local.mic, camera: demo.local.camera,
            screen: screen ? screen.mid : null};
}

const stateIsDefault = s => s.mic && s.camera && !s.screen;

/* Tell the room (data channel) what we send now; nothing while all is on and nothing was off. */
let toldOff = false;
function announce() {
    const c = demo.client;
    const s = myState();
    if (!c || (stateIsDefault(s) && !toldOff)) return;
    toldOff = !stateIsDefault(s);
    try {
        if (c.dataReady) c.sendData(JSON.stringify(s));
    } catch (e) {
        log(`state: ${e.code || e.message}`, 'error');
    }
}

/* A newcomer learns what is off from us directly (it missed the earlier messages). */
function tellNewcomer(id) {
    const s = myState();
    if (!demo.client || stateIsDefault(s)) return;
    demo.client.sendDataTo(id, JSON.stringify(s)).catch(() => { /* gone, or no data grant */ });
}

/* A state message from `from`: true when it was one (and is not chat). */
function onState(from, data) {
    if (typeof data !== 'string' || !data.startsWith(STATE_PREFIX)) return false;
    let s;
    try {
        s = JSON.parse(data);
    } catch {
        return false;
    }
    remoteState.set(from, {mic: s.mic !== false, camera: s.camera !== false,
                           screen: typeof s.screen === 'string' ? s.screen : null});
    placeMedia(from);
    renderParticipants();
    return true;
}

/* ---- remote media: a tile per participant, one more per shared screen ----------------------- */

/* The video layer a participant's tile receives (the SDK's `receiving` event): "h 640×360",
 * with "limited" when our downlink holds it below what we asked for; '' for video without
 * layers. */
function layerText(participantId) {
    const c = demo.client;
    for (const r of c ? c.receiving.values() : []) {
        const t = c.tracks.get(r.track);
        if (!t || t.participant !== participantId) continue;
        if (screenMid(participantId) && String(t.mid) === screenMid(participantId)) continue;
        const size = r.width ? ` ${r.width}×${r.height}` : '';
        return `${r.rid ? r.rid + size : 'no video'}${r.limited ? ', limited' : ''}`;
    }
    return '';
}

const screenMid = id => (remoteState.get(id) || {}).screen || null;
const tileOf = id => document.querySelector(`.tile.remote[data-participant="${CSS.escape(id)}"]`);

function makeTile(cls) {
    const tile = document.createElement('figure');
    tile.className = `tile ${cls}`;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; /* the sound plays through the audio element */
    const off = document.createElement('div');
    off.className = 'off';
    off.setAttribute('aria-hidden', 'true');
    const initial = document.createElement('span');
    initial.className = 'initial';
    off.append(initial, 'camera off');
    const badges = document.createElement('p');
    badges.className = 'badges';
    for (const [c, text] of [['mic-off', 'muted'], ['mod-muted', 'muted by a moderator'],
                             ['quality', '']]) {
        const s = document.createElement('span');
        s.className = c;
        s.textContent = text;
        if (c !== 'quality') s.hidden = true;
        badges.append(s);
    }
    tile.append(video, off, document.createElement('figcaption'), badges);
    return tile;
}

function tileFor(participantId) {
    let tile = tileOf(participantId);
    if (!tile) {
        tile = makeTile('remote');
        tile.dataset.participant = participantId;
        const audio = document.createElement('audio');
        audio.autoplay = true;
        const pin = document.createElement('button'); /* beside the caption: it names only */
        pin.type = 'button';
        pin.className = 'pin';
        pin.textContent = '📌';
        pin.addEventListener('click', () => pinParticipant(
            participantId, !demo.pinned.has(participantId)).catch(() => {}));
        tile.append(audio, pin);
        const firstScreen = document.querySelector('#grid .tile.screen');
        $('grid').insertBefore(tile, firstScreen); /* cameras first, screens after */
    }
    renderTile(participantId);
    return tile;
}

/* The tile's words and marks: name, layer, muted, camera off, pinned, speaking. */
function renderTile(participantId) {
    const me = demo.client && demo.client.participant;
    if (me && participantId === me.id) return renderLocalTile();
    const tile = tileOf(participantId);
    if (!tile) return;
    const caption = tile.querySelector('figcaption');
    caption.textContent = nameOf(participantId);
    const layer = layerText(participantId);
    if (layer) {
        const span = document.createElement('span');
        span.className = 'layer';
        span.textContent = ` · ${layer}`;
        caption.append(span);
    }
    const st = demo.remote(participantId);
    tile.querySelector('.mic-off').hidden = st.mic || st.modMuted;
    tile.querySelector('.mod-muted').hidden = !st.modMuted;
    const video = tile.querySelector('video');
    const hasVideo = !!(video.srcObject && video.srcObject.getVideoTracks().length);
    tile.classList.toggle('camera-off', !st.camera || !hasVideo);
    tile.querySelector('.off').lastChild.textContent = st.camera ? 'no video' : 'camera off';
    tile.querySelector('.initial').textContent = (nameOf(participantId) || '?').slice(0, 1);
    const pinned = demo.pinned.has(participantId);
    const pin = tile.querySelector('button.pin');
    pin.title = pinned ? 'Unpin' : 'Pin: receive this video first when the network is short';
    pin.setAttribute('aria-label', `${pinned ? 'Unpin' : 'Pin'} ${nameOf(participantId)}`);
    pin.setAttribute('aria-pressed', String(pinned));
    tile.classList.toggle('pinned', pinned);
    video.setAttribute('aria-label', `Video of ${nameOf(participantId)}`);
    tile.classList.toggle('speaking', demo.speakers.some(s => s.participant === participantId));
}

/* Show `tracks` in a media element (a stream of its own), unless it shows them already. */
function show(el, tracks) {
    const now = el.srcObject ? el.srcObject.getTracks() : [];
    if (now.length === tracks.length && tracks.every(t => now.includes(t))) return;
    el.srcObject = tracks.length ? new MediaStream(tracks) : null;
}

/* A participant's live remote tracks of one kind that the server still announces. */
function liveTracks(participantId, kind) {
    const c = demo.client;
    if (!c) return [];
    return [...c.remoteTracks.values()].filter(r => r.participant === participantId &&
        r.kind === kind && r.track.readyState === 'live' && (!r.trackId || c.tracks.has(r.trackId)));
}

/* Put a participant's tracks where they belong: camera and audio in its tile, each screen in a
 * tile of its own (the screen's publisher mid, from its state message, tells which it is). */
function placeMedia(participantId) {
    const c = demo.client;
    if (!c || !others.has(participantId)) return;
    const mid = screenMid(participantId);
    const isScreen = r => {
        const info = r.trackId && c.tracks.get(r.trackId);
        return !!(mid && info && String(info.mid) === mid);
    };
    const videos = liveTracks(participantId, 'video');
    const audios = liveTracks(participantId, 'audio');
    const screens = videos.filter(isScreen);
    const camera = videos.find(r => !screens.includes(r));
    if (!videos.length && !audios.length) {
        removeTile(participantId);
        return;
    }
    const tile = tileFor(participantId);
    show(tile.querySelector('video'), camera ? [camera.track] : []);
    show(tile.querySelector('audio'), audios.map(r => r.track));
    renderTile(participantId);
    const keep = new Set(screens.map(r => r.track.id));
    for (const t of document.querySelectorAll(`.tile.screen[data-screen-of="${CSS.escape(participantId)}"]`))
        if (!keep.has(t.dataset.track)) t.remove();
    for (const r of screens) {
        let t = document.querySelector(`.tile.screen[data-track="${CSS.escape(r.track.id)}"]`);
        if (!t) {
            t = makeTile('screen');
            t.dataset.screenOf = participantId;
            t.dataset.track = r.track.id;
            $('grid').append(t);
        }
        show(t.querySelector('video'), [r.track]);
        t.querySelector('figcaption').textContent = `${nameOf(participantId)}'s screen`;
        t.querySelector('video').setAttribute('aria-label', `Screen of ${nameOf(participantId)}`);
    }
}

/* Pin (or unpin) every video track of a participant (the SDK's pin(): our downlink serves
 * pinned tracks first, docs/protocol.md §2.8). */
async function pinParticipant(participantId, pinned = true) {
    const c = demo.client;
    if (!c) throw new Error('not joined');
    const videos = [...c.tracks.values()].filter(
        t => t.participant === participantId && t.kind === 'video');
    try {
        await Promise.all(videos.map(t => c.pin(t.id, pinned)));
    } catch (e) {
        log(`pin ${nameOf(participantId)}: ${e.code || e.message}`, 'error');
        throw e;
    }
    if (pinned)
        demo.pinned.add(participantId);
    else
        demo.pinned.delete(participantId);
    log(`${pinned ? 'pinned' : 'unpinned'} ${nameOf(participantId)}`);
    renderTile(participantId);
}

function removeTile(participantId) {
    const tile = tileOf(participantId);
    if (tile) tile.remove();
    for (const t of document.querySelectorAll(`.tile.screen[data-screen-of="${CSS.escape(participantId)}"]`))
        t.remove();
}

function onTrack({participant, track, kind}) {
    log(`receiving ${kind} from ${nameOf(participant)}`);
    placeMedia(participant);
    track.addEventListener('ended', () => placeMedia(participant));
}

/* ---- quality per tile: what we decode of each, every 2 s ------------------------------------ */

/* The size decoded and the frame rate since the last look (the element's own counters: no
 * getStats, which the SDK already runs every 2 s for `connection-quality`). */
const lastFrames = new WeakMap();
function updateQuality() {
    const c = demo.client;
    if (!c || c.state !== 'joined' || document.hidden) return;
    const q = c.connectionQuality;
    $('local-tile').querySelector('.quality').textContent = q ?
        `connection ${q.quality}${q.rttMs != null ? ` · ${Math.round(q.rttMs)} ms` : ''}` : '';
    const now = performance.now();
    for (const tile of document.querySelectorAll('#grid .tile.remote, #grid .tile.screen')) {
        const video = tile.querySelector('video');
        const frames = video.getVideoPlaybackQuality().totalVideoFrames;
        const prev = lastFrames.get(video);
        lastFrames.set(video, {frames, at: now});
        const fps = prev && frames > prev.frames ?
            ` · ${Math.round((frames - prev.frames) * 1000 / (now - prev.at))} fps` : '';
        const off = tile.classList.contains('camera-off'); /* black frames say nothing */
        tile.querySelector('.quality').textContent =
            video.videoWidth && !off ? `${video.videoWidth}×${video.videoHeight}${fps}` : '';
    }
}
setInterval(updateQuality, 2000);

/* ---- stats for tests and the curious --------------------------------------------------------- */

async function stats() {
    const out = {};
    const client = demo.client;
    if (!client) return out;
    const {subscriber} = await client.getStats();
    if (!subscriber) return out;
    const byMid = new Map([...client.remoteTracks.values()].map(t => [t.mid, t]));
    subscriber.forEach(s => {
        if (s.type !== 'inbound-rtp') return;
        const t = client.remoteTracks.get(s.trackIdentifier) || byMid.get(s.mid);
        const id = t ? t.participant : 'unknown';
        const e =
            out[id] || (out[id] = {user: nameOf(id), framesDecoded: 0, totalSamplesReceived: 0});
        if (s.kind === 'video')
            e.framesDecoded += s.framesDecoded || 0;
        else if (s.kind === 'audio')
            e.totalSamplesReceived += s.totalSamplesReceived || 0;
    });
    return out;
}

/* ---- chat ---------------------------------------------------------------------------------- */

function addChat(from, text) {
    const li = document.createElement('li');
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = from;
    li.append(who, document.createTextNode(text));
    $('chat-log').append(li);
    li.scrollIntoView({block: 'nearest'});
}

function sendChat(text) {
    demo.client.sendData(text);
    addChat('you', text);
}

function onData({from, data}) {
    if (onState(from, data)) return;
    demo.lastData = {from, data};
    demo.messages.push({from, data});
    addChat(nameOf(from), typeof data === 'string' ? data : `(${data.byteLength} bytes)`);
}

/* ---- the room list --------------------------------------------------------------------------- */

const serverBase = () => ($('server').value.trim() || location.origin).replace(/\/+$/, '');

async function refreshRooms() {
    roomsPolledAt = performance.now();
    const note = $('rooms-note');
    let r;
    try {
        r = await fetch(`${serverBase()}/v1/rooms/public`);
    } catch (e) {
        demo.rooms = null;
        note.textContent = `Cannot reach ${serverBase()} for its rooms: ${e.message}`;
        renderRooms();
        return demo.rooms;
    }
    if (r.status === 404) {
        demo.rooms = null;
        note.textContent = 'This server does not list its rooms (rooms.public_list is off): ' +
            'type a room name to join one.';
    } else if (!r.ok) {
        note.textContent = `The room list is not available now (HTTP ${r.status}).`;
    } else {
        demo.rooms = (await r.json()).rooms || [];
        note.textContent = demo.rooms.length ? '' : 'Nobody is in a room yet: type a name to open one.';
    }
    renderRooms();
    return demo.rooms;
}

let roomsShown = '';
function renderRooms() {
    const ul = $('rooms');
    const here = demo.client && demo.client.state === 'joined' ? roomName : '';
    const key = JSON.stringify([here, demo.rooms]);
    if (key === roomsShown) return; /* unchanged: the DOM stays as it is */
    roomsShown = key;
    ul.replaceChildren();
    for (const {room, participants: n} of demo.rooms || []) {
        const li = document.createElement('li');
        li.dataset.room = room;
        li.classList.toggle('here', room === here);
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = room;
        b.setAttribute('aria-label', room === here ? `${room} (you are here)` : `Join ${room}`);
        b.disabled = room === here;
        b.addEventListener('click', () => joinListed(room));
        const count = document.createElement('span');
        count.className = 'count';
        count.textContent = `${n} ${n === 1 ? 'person' : 'people'}`;
        li.append(b, count);
        ul.append(li);
    }
}

/* Join a room from the list, leaving the current one first. */
async function joinListed(room) {
    if (!$('user').value.trim()) {
        showNotice('Type your name first, then pick the room.', 'error');
        $('user').focus();
        $('room').value = room;
        return;
    }
    if (demo.client && !['closed', 'idle'].includes(demo.client.state)) await leave();
    $('room').value = room;
    await join().catch(() => {});
}

let roomsTimer = null;
function roomsSoon() {
    clearTimeout(roomsTimer);
    roomsTimer = setTimeout(() => refreshRooms().catch(() => {}), 300);
}
/* Every 5 s while the page is visible and out of a call; in a call (where the room's own joins and
 * leaves refresh it) every 30 s: each request to hearthd during a call showed as a delay of up to
 * ~150 ms in media reaching this page (tests/browser/moderation.test.mjs's latencies). */
let roomsPolledAt = 0;
setInterval(() => {
    const inCall = demo.client && demo.client.state === 'joined';
    if (document.hidden || performance.now() - roomsPolledAt < (inCall ? 30000 : 5000)) return;
    refreshRooms().catch(() => {});
}, 1000);


/* ---- our own media: microphone, camera, screen ----------------------------------------------- */

function renderControls() {
    const sending = !!localStream;
    const mic = $('mic'), cam = $('camera'), scr = $('screen');
    mic.textContent = demo.local.mic ? 'Mute' : 'Unmute';
    mic.setAttribute('aria-pressed', String(!demo.local.mic));
    mic.disabled = !sending || !localStream.getAudioTracks().length;
    cam.textContent = demo.local.camera ? 'Stop camera' : 'Start camera';
    cam.setAttribute('aria-pressed', String(!demo.local.camera));
    cam.disabled = !sending || !localStream.getVideoTracks().length;
    scr.textContent = screen ? 'Stop sharing' : 'Share screen';
    scr.setAttribute('aria-pressed', String(!!screen));
    scr.disabled = !(demo.client && demo.client.grants.includes('publish'));
    renderLocalTile();
}

function renderLocalTile() {
    const tile = $('local-tile');
    const me = demo.client && demo.client.participant;
    tile.querySelector('.mic-off').hidden = demo.local.mic || (!!me && modMuted(me.id));
    tile.querySelector('.mod-muted').hidden = !(me && modMuted(me.id));
    tile.classList.toggle('camera-off', !demo.local.camera);
    tile.querySelector('.initial').textContent = me ? me.user.slice(0, 1) : '';
}

/* Turn our microphone (`mic`) or camera (`camera`) on or off: the track's `enabled` (silence or
 * black frames, the same track id), then tell the others. */
async function setLocal(what, on) {
    const kind = what === 'mic' ? 'audio' : 'video';
    const t = localStream && localStream.getTracks().find(x => x.kind === kind);
    if (!t) throw new Error(`not sending a ${what === 'mic' ? 'microphone' : 'camera'}`);
    t.enabled = !!on;
    demo.local[what] = !!on;
    log(`${what === 'mic' ? 'microphone' : 'camera'} ${on ? 'on' : 'off'}`);
    renderControls();
    announce();
}

function setMic(on) {
    return setLocal('mic', on);
}

function setCamera(on) {
    return setLocal('camera', on);
}

async function shareScreen(on = true) {
    const c = demo.client;
    if (!c) throw new Error('not joined');
    if (on && !screen) {
        const stream = await navigator.mediaDevices.getDisplayMedia({video: true, audio: false});
        const track = stream.getVideoTracks()[0];
        const [tx] = await c.publish(stream);
        screen = {stream, track, mid: tx && tx.mid != null ? String(tx.mid) : null};
        track.addEventListener('ended', () => shareScreen(false).catch(() => {}));
        const tile = makeTile('screen local-screen');
        tile.id = 'local-screen';
        show(tile.querySelector('video'), [track]);
        tile.querySelector('figcaption').textContent = 'your screen';
        $('grid').append(tile);
        log('sharing the screen');
    } else if (!on && screen) {
        const {track} = screen;
        screen = null;
        track.stop();
        const tile = $('local-screen');
        if (tile) tile.remove();
        if (c.state === 'joined') await c.unpublish(track).catch(e => log(`unpublish: ${e.code || e.message}`, 'error'));
        log('stopped sharing the screen');
    }
    demo.local.screen = !!screen;
    renderControls();
    announce();
}

/* ---- join and leave ------------------------------------------------------------------------ */

function setJoined(joined) {
    $('join').disabled = joined;
    $('leave').disabled = !joined;
    for (const id of ['room', 'user', 'server', 'publish']) $(id).disabled = joined;
    $('join-form').hidden = joined;
    $('controls').hidden = !joined;
    $('media-heading').textContent = joined && roomName ? roomName : 'Video';
}

function setChatEnabled(on) {
    $('chat-input').disabled = !on;
    $('chat-send').disabled = !on;
}

function showNotice(text, kind = '') {
    demo.notice = text;
    $('notice').textContent = text;
    $('notice').className = `notice ${kind}`.trim();
    $('notice').hidden = false;
}

function clearNotice() {
    $('notice').hidden = true;
}

/* The connection dropped: the SDK is resuming; the banner stays up until it is back. */
function onReconnecting(detail) {
    demo.reconnects.push({event: 'reconnecting', at: Date.now(), ...detail});
    log(`connection lost (${detail.reason}${detail.code ? ` ${detail.code}` : ''}): ` +
        `reconnecting, attempt ${detail.attempt} in ${detail.delayMs} ms`);
    $('reconnecting').hidden = false;
    $('state-signal').textContent = 'reconnecting';
    setStatus('reconnecting…');
    setChatEnabled(false);
}

function onReconnected(detail) {
    demo.reconnects.push({event: 'reconnected', at: Date.now(), ...detail});
    const me = demo.client.participant;
    log(`reconnected after ${detail.durationMs} ms (media ${detail.media})`);
    $('reconnecting').hidden = true;
    $('state-signal').textContent = 'joined';
    setStatus(`in ${roomName} as ${me ? me.user : ''}`);
    if (demo.client.dataReady) setChatEnabled(true);
}

function wire(client) {
    client.addEventListener('participant-joined', ({detail}) => {
        others.set(detail.participant.id, detail.participant);
        log(`${detail.participant.user} joined`);
        renderParticipants();
        tellNewcomer(detail.participant.id);
        roomsSoon();
    });
    client.addEventListener('participant-left', ({detail}) => {
        others.delete(detail.participant.id);
        remoteState.delete(detail.participant.id);
        demo.pinned.delete(detail.participant.id);
        log(`${detail.participant.user} left (${detail.reason || 'left'})`);
        removeTile(detail.participant.id);
        renderParticipants();
        roomsSoon();
    });
    client.addEventListener('track-published', ({detail}) => {
        const t = detail.track;
        log(`${nameOf(t.participant)} published ${t.kind}`);
        if (t.kind === 'video' && demo.pinned.has(t.participant)) /* a pinned tile's new video */
            client.pin(t.id).catch(e => log(`pin: ${e.code || e.message}`, 'error'));
        placeMedia(t.participant);
    });
    client.addEventListener('track-unpublished', ({detail}) => {
        mutedByModerator.delete(detail.track.id);
        if (detail.track.participant) placeMedia(detail.track.participant);
    });
    client.addEventListener('track', ({detail}) => onTrack(detail));
    client.addEventListener('data', ({detail}) => onData(detail));
    client.addEventListener('data-open', () => {
        demo.dataOpen = true;
        setChatEnabled(true);
        if (!stateIsDefault(myState())) announce();
    });
    client.addEventListener('media-state', ({detail}) => {
        const el = $(`state-${detail.pc}`);
        if (el) el.textContent = detail.state + (detail.reason ? ` (${detail.reason})` : '');
    });
    client.addEventListener('error', ({detail}) => {
        const text =
            `${detail.context}: ${detail.error && (detail.error.code || detail.error.message)}`;
        demo.errors.push(text);
        log(text, 'error');
    });
    client.addEventListener('moderation', ({detail}) => onModeration(detail));
    client.addEventListener('speakers', ({detail}) => onSpeakers(detail));
    client.addEventListener('receiving', ({detail}) => {
        const t = client.tracks.get(detail.track);
        if (t) renderTile(t.participant);
    });
    client.addEventListener('layers', ({detail}) => {
        demo.layers.push({at: Date.now(), ...detail});
        log(`sending layers ${detail.active.join(', ')} of mid ${detail.mid}`);
    });
    client.addEventListener('reconnecting', ({detail}) => onReconnecting(detail));
    client.addEventListener('reconnected', ({detail}) => onReconnected(detail));
    client.addEventListener('participant-resumed', ({detail}) => {
        others.set(detail.participant.id, detail.participant);
        log(`${detail.participant.user} reconnected`);
        renderParticipants();
    });
    client.addEventListener('disconnected', ({detail}) => {
        log(`disconnected: ${detail.reason} (${detail.code})`);
        const removed = ['kicked', 'banned', 'timed_out'].includes(detail.reason);
        if (removed) {
            showNotice(`${detail.message || 'removed by a moderator'} (${detail.reason})`);
        } else if (detail.reason === 'replaced') {
            showNotice('This session was replaced: the same name and device joined again ' +
                       '(another tab with this device id?).', 'error');
        } else if (detail.reason === 'resume_failed' || detail.code === 4009) {
            /* the session could not be resumed: only a new join brings us back */
            showNotice('The connection to the server was lost and could not be resumed (' +
                       `${detail.reason}${detail.message ? `: ${detail.message}` : ''}). ` +
                       'Join again to come back.', 'error');
        }
        ended(`disconnected (${detail.reason})`);
    });
}

function ended(status) {
    $('reconnecting').hidden = true;
    others.clear();
    remoteState.clear();
    mutedByModerator.clear();
    myTracks.clear();
    demo.votes.clear();
    demo.speakers = [];
    demo.pinned.clear();
    renderVotes();
    for (const tile of document.querySelectorAll('.tile.remote, .tile.screen')) tile.remove();
    if (localStream)
        for (const t of localStream.getTracks()) t.stop();
    localStream = null;
    if (screen) screen.track.stop();
    screen = null;
    toldOff = false;
    demo.local = {mic: true, camera: true, screen: false};
    $('local-video').srcObject = null;
    $('local-tile').hidden = true;
    demo.dataOpen = false;
    setChatEnabled(false);
    setJoined(false);
    renderControls();
    $('state-signal').textContent = 'closed';
    setStatus(status);
    renderParticipants();
    roomsSoon();
}

/* ?camera=1280x720 asks the camera for that size (three simulcast layers need 960x540 or more
 * in Chromium); the camera's own default otherwise. */
function cameraConstraints() {
    const m = /^(\d+)x(\d+)$/.exec(params.get('camera') || '');
    return m ? {width: {ideal: Number(m[1])}, height: {ideal: Number(m[2])}} : true;
}

async function startPublishing(client, simulcast) {
    const svc = params.get('svc') || null;
    localStream =
        await navigator.mediaDevices.getUserMedia({audio: true, video: cameraConstraints()});
    $('local-video').srcObject = localStream;
    $('local-tile').hidden = false;
    renderControls();
    await client.publish(localStream, {simulcast, svc, codec: params.get('codec') || null});
    log('publishing camera and microphone');
}

/* The ICE servers with only the TURN URLs of one kind (udp, tcp or tls); STUN entries dropped. */
function onlyTurn(list, kind) {
    const want = url => kind === 'tls' ? url.startsWith('turns:') :
        url.startsWith('turn:') && url.endsWith(`transport=${kind}`);
    return (list || []).map(e => ({...e, urls: [].concat(e.urls).filter(want)}))
        .filter(e => e.urls.length && e.username);
}

/* What a failed join tells a person: the server's message and code, or that it is unreachable. */
function joinError(e, base) {
    if (e.code === 'network_error')
        return `Could not reach the server at ${base}: is hearthd running there? (${e.message})`;
    return `Could not join: ${e.message || e.code}${e.code ? ` (${e.code})` : ''}`;
}

async function join(options = {}) {
    /* idle: a join whose ticket request failed never connected */
    if (demo.client && !['closed', 'idle'].includes(demo.client.state))
        throw new Error('already joined');
    const room = options.room || $('room').value.trim();
    const user = options.user || $('user').value.trim();
    const server = options.server !== undefined ? options.server : $('server').value.trim();
    const publish = options.publish !== undefined ? options.publish : $('publish').checked;
    const simulcast =
        options.simulcast !== undefined ? options.simulcast : params.get('simulcast') === '1';
    const base = (server || location.origin).replace(/\/+$/, '');

    setJoined(true);
    clearNotice();
    setStatus(`joining ${room}…`);
    $('state-signal').textContent = 'connecting';
    const client = new HearthClient(); /* set before the first await: tests reach it at once */
    demo.client = client;
    demo.published = null;
    wire(client);
    let result;
    try {
        await deviceChecked;
        const device = options.device || demo.device;
        const grants = params.get('moderate') === '1' ?
            {publish: true, subscribe: true, data: true, moderate: true} : undefined;
        const sid = params.get('sid') || undefined;
        const ticket = await HearthClient.fetchTicket(base, {room, user, device, grants, sid});
        /* ?relay=1: media only through TURN; ?turn=udp|tcp|tls: only that kind of TURN URL */
        const iceTransportPolicy = params.get('relay') === '1' ? 'relay' : 'all';
        const only = params.get('turn');
        const iceServers = only ? onlyTurn(ticket.ice_servers, only) : undefined;
        result = await client.join({ticket, iceServers, iceTransportPolicy});
    } catch (e) {
        setJoined(false);
        $('state-signal').textContent = 'closed';
        setStatus(`could not join: ${e.code || e.message}`);
        log(`join failed: ${e.code || ''} ${e.message}`, 'error');
        demo.lastError = {code: e.code || null, message: e.message};
        showNotice(joinError(e, base), 'error');
        throw e;
    }
    for (const p of result.room.participants || []) others.set(p.id, p);
    roomName = result.room.name;
    $('media-heading').textContent = roomName;
    $('state-signal').textContent = 'joined';
    $('state-device').textContent = result.participant.device;
    $('local-label').textContent = `${result.participant.user} (you)`;
    setStatus(`in ${result.room.name} as ${result.participant.user}`);
    log(`joined ${result.room.name} as ${result.participant.id}`);
    renderParticipants();
    for (const id of others.keys()) placeMedia(id); /* tracks that came before the result */
    renderControls();
    roomsSoon();
    if (publish && client.grants.includes('publish')) {
        demo.published = startPublishing(client, simulcast).catch(e => {
            demo.errors.push(`publish: ${e.code || e.message}`);
            log(`publish failed: ${e.code || ''} ${e.message}`, 'error');
            showNotice(`Could not send camera and microphone: ${e.message}`, 'error');
        });
    }
    return result;
}

async function leave() {
    if (demo.client) await demo.client.leave();
    ended('left');
}

/* ---- the form and the controls -------------------------------------------------------------- */

$('room').value = params.get('room') || 'lobby';
$('user').value = params.get('user') || '';
$('server').value = params.get('server') || '';
$('state-device').textContent = demo.device;
if (params.get('publish') === '0') $('publish').checked = false;

$('join-form').addEventListener('submit', ev => {
    ev.preventDefault();
    join().catch(() => {});
});
$('server').addEventListener('change', () => refreshRooms().catch(() => {}));
$('leave').addEventListener('click', () => leave());
$('mic').addEventListener('click', () => setMic(!demo.local.mic).catch(e => log(e.message, 'error')));
$('camera').addEventListener('click',
                             () => setCamera(!demo.local.camera).catch(e => log(e.message, 'error')));
$('screen').addEventListener('click', () => shareScreen(!screen).catch(e => {
    log(`screen: ${e.name === 'NotAllowedError' ? 'not allowed' : e.message}`, 'error');
}));
$('chat-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const text = $('chat-input').value;
    if (!text) return;
    try {
        sendChat(text);
        $('chat-input').value = '';
    } catch (e) {
        log(`chat: ${e.code || e.message}`, 'error');
    }
});
window.addEventListener('pagehide', () => {
    if (demo.client) demo.client.leave();
});

refreshRooms().catch(() => {});
if (params.get('autojoin') === '1' && $('user').value) join().catch(() => {});
