/*
 * The hearth demo page: join a room, send camera and microphone, see and hear everyone else,
 * chat over the data channel. It uses only the SDK's public API (/sdk/hearth.js), so it doubles
 * as an example of it.
 *
 * Query string: room, user, device, autojoin=1, server=<hearthd base URL> (default: this page's
 * origin), publish=0 (receive only), simulcast=1, svc=L3T3 (SVC in that scalability mode), codec=AV1
 * (the video codec to send; SVC: VP9 by default),
 * camera=WxH; with hearthd's dev auth also moderate=1 (ask for the moderate grant) and
 * sid=<platform session id>.
 *
 * Moderators get Mute / Timeout / Kick / Ban buttons next to each participant and Approve /
 * Reject on open votes; everyone sees what moderation did and why (docs/moderation.md).
 *
 * Whoever speaks (the SDK's `speakers` event: docs/protocol.md §2.6) has their tile and their
 * entry in the participant list outlined (CSS class `speaking`, us included), and their names
 * in the "speaking" line under the list. Each tile's caption names the video layer it receives
 * (the SDK's `receiving` event, §2.8), e.g. "alice · h 640×360". Its 📌 button (top right) pins the
 * participant's video (the SDK's pin(): our downlink serves it first) or unpins it; a pinned
 * tile is marked (CSS class `pinned`: a frame and a "pinned" badge).
 *
 * When the connection drops (a restart of hearthd, a network change) the SDK resumes the session
 * by itself (docs/protocol.md §2.4): the page shows the "reconnecting…" banner (#reconnecting)
 * meanwhile, hides it once resumed, and says so plainly when the session could not be resumed.
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
 *   notice              the last moderation notice shown to this participant, or ''
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
 */
import {HearthClient} from '/sdk/hearth.js';

const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);

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
};
window.hearthDemo = demo;

/* Others in the room: participant id -> {id, user, device}. */
const others = new Map();
let localStream = null;
let roomName = '';

function log(text, cls) {
    const li = document.createElement('li');
    li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    if (cls) li.className = cls;
    $('log').prepend(li);
}

function setStatus(text) {
    $('status').textContent = text;
}

function nameOf(id) {
    const p = others.get(id);
    if (p) return p.user;
    const me = demo.client && demo.client.participant;
    return me && me.id === id ? 'you' : id;
}

/* ---- participants ------------------------------------------------------------------------- */

function renderParticipants() {
    const ul = $('participants');
    ul.replaceChildren();
    const me = demo.client && demo.client.participant;
    if (me) {
        const li = document.createElement('li');
        li.className = 'me';
        li.dataset.participant = me.id;
        li.textContent = `${me.user} (you)`;
        ul.append(li);
    }
    for (const p of others.values()) {
        const li = document.createElement('li');
        li.dataset.participant = p.id;
        li.textContent = p.device && p.device !== 'default' ? `${p.user} · ${p.device}` : p.user;
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

async function act(action, target) {
    const reason = action === 'unmute' ? '' : (window.prompt(`Reason to ${action}?`, '') || '');
    try {
        const r = await demo.client.moderate(action, {...target, reason});
        log(`${action}: ${r.status}${r.vote ? ' (a vote opened)' : ''}`);
    } catch (e) {
        log(`${action} refused: ${e.code || e.message}`, 'error');
    }
}

function modButtons(p) {
    const span = document.createElement('span');
    span.className = 'mod';
    const button = (label, fn) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = label;
        b.setAttribute('aria-label', `${label} ${p.user}`);
        b.addEventListener('click', fn);
        span.append(b);
    };
    button('Mute', () => {
        for (const t of tracksOf(p.id)) act('mute', {track: t.id});
    });
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

function onModeration(m) {
    demo.moderation.push(m);
    log(describe(m), 'moderation');
    if (m.event === 'vote.opened' || m.event === 'vote.cast') demo.votes.set(m.id, m.vote);
    if (m.event === 'vote.closed') demo.votes.delete(m.id);
    renderVotes();
    const me = demo.client && demo.client.participant;
    const mine = me && m.target && (m.target.participant === me.id || m.target.user === me.user);
    if (mine && ['mute', 'timeout', 'untimeout', 'unmute', 'overturn'].includes(m.event)) {
        demo.notice = m.event === 'timeout' ?
            `${m.actor} timed you out${m.reason ? `: ${m.reason}` : ''}: you can listen, not speak` :
            describe(m);
        $('notice').textContent = demo.notice;
        $('notice').hidden = false;
    }
}

function participants() {
    return [...others.values()].map(p => ({id: p.id, user: p.user, device: p.device}));
}

/* ---- remote media: one tile per participant ------------------------------------------------ */

/* The video layer a participant's tile receives (the SDK's `receiving` event): "h 640×360",
 * with "limited" when our downlink holds it below what we asked for; '' for video without
 * layers. */
function layerText(participantId) {
    const c = demo.client;
    for (const r of c ? c.receiving.values() : []) {
        const t = c.tracks.get(r.track);
        if (!t || t.participant !== participantId) continue;
        const size = r.width ? ` ${r.width}×${r.height}` : '';
        return `${r.rid ? r.rid + size : 'no video'}${r.limited ? ', limited' : ''}`;
    }
    return '';
}

function tileFor(participantId, stream) {
    let tile = document.querySelector(`.tile[data-participant="${CSS.escape(participantId)}"]`);
    if (!tile) {
        tile = document.createElement('figure');
        tile.className = 'tile remote';
        tile.dataset.participant = participantId;
        const video = document.createElement('video');
        video.autoplay = true;
        video.playsInline = true;
        video.muted = true; /* the sound plays through the audio element */
        const audio = document.createElement('audio');
        audio.autoplay = true;
        const caption = document.createElement('figcaption');
        const pin = document.createElement('button'); /* beside the caption: it names only */
        pin.type = 'button';
        pin.className = 'pin';
        pin.textContent = '📌';
        pin.addEventListener('click', () => pinParticipant(
            participantId, !demo.pinned.has(participantId)).catch(() => {}));
        tile.append(video, audio, caption, pin);
        $('grid').append(tile);
    }
    const caption = tile.querySelector('figcaption');
    caption.textContent = nameOf(participantId);
    const layer = layerText(participantId);
    if (layer) {
        const span = document.createElement('span');
        span.className = 'layer';
        span.textContent = ` · ${layer}`;
        caption.append(span);
    }
    const pinned = demo.pinned.has(participantId);
    const pin = tile.querySelector('button.pin');
    pin.title = pinned ? 'Unpin' : 'Pin: receive this video first when the network is short';
    pin.setAttribute('aria-label', `${pinned ? 'Unpin' : 'Pin'} ${nameOf(participantId)}`);
    pin.setAttribute('aria-pressed', String(pinned));
    tile.classList.toggle('pinned', pinned);
    tile.querySelector('video').setAttribute('aria-label', `Video of ${nameOf(participantId)}`);
    if (stream) {
        for (const el of tile.querySelectorAll('video, audio'))
            if (el.srcObject !== stream) el.srcObject = stream;
    }
    tile.classList.toggle('speaking', demo.speakers.some(s => s.participant === participantId));
    return tile;
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
    if (document.querySelector(`.tile[data-participant="${CSS.escape(participantId)}"]`))
        tileFor(participantId);
}

function removeTile(participantId) {
    const tile = document.querySelector(`.tile[data-participant="${CSS.escape(participantId)}"]`);
    if (tile) tile.remove();
}

function onTrack({participant, stream, kind}) {
    log(`receiving ${kind} from ${nameOf(participant)}`);
    const tile = tileFor(participant, stream);
    stream.onremovetrack = () => {
        /* after a resume the tile may show a newer stream of the same participant */
        if (stream.getTracks().length === 0 && tile.querySelector('video').srcObject === stream)
            removeTile(participant);
    };
}

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
    demo.lastData = {from, data};
    demo.messages.push({from, data});
    addChat(nameOf(from), typeof data === 'string' ? data : `(${data.byteLength} bytes)`);
}

/* ---- join and leave ------------------------------------------------------------------------ */

function setJoined(joined) {
    $('join').disabled = joined;
    $('leave').disabled = !joined;
    for (const id of ['room', 'user', 'server', 'publish']) $(id).disabled = joined;
}

function setChatEnabled(on) {
    $('chat-input').disabled = !on;
    $('chat-send').disabled = !on;
}

function showNotice(text) {
    demo.notice = text;
    $('notice').textContent = text;
    $('notice').hidden = false;
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
    });
    client.addEventListener('participant-left', ({detail}) => {
        others.delete(detail.participant.id);
        demo.pinned.delete(detail.participant.id);
        log(`${detail.participant.user} left (${detail.reason || 'left'})`);
        removeTile(detail.participant.id);
        renderParticipants();
    });
    client.addEventListener('track-published', ({detail}) => {
        const t = detail.track;
        log(`${nameOf(t.participant)} published ${t.kind}`);
        if (t.kind === 'video' && demo.pinned.has(t.participant)) /* a pinned tile's new video */
            client.pin(t.id).catch(e => log(`pin: ${e.code || e.message}`, 'error'));
    });
    client.addEventListener('track', ({detail}) => onTrack(detail));
    client.addEventListener('data', ({detail}) => onData(detail));
    client.addEventListener('data-open', () => {
        demo.dataOpen = true;
        setChatEnabled(true);
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
        if (t && document.querySelector(`.tile[data-participant="${CSS.escape(t.participant)}"]`))
            tileFor(t.participant);
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
        } else if (detail.reason === 'resume_failed' || detail.code === 4009) {
            /* the session could not be resumed: only a new join brings us back */
            showNotice('The connection to the server was lost and could not be resumed (' +
                       `${detail.reason}${detail.message ? `: ${detail.message}` : ''}). ` +
                       'Join again to come back.');
        }
        ended(`disconnected (${detail.reason})`);
    });
}

function ended(status) {
    $('reconnecting').hidden = true;
    others.clear();
    demo.votes.clear();
    demo.speakers = [];
    demo.pinned.clear();
    renderVotes();
    for (const tile of document.querySelectorAll('.tile.remote')) tile.remove();
    if (localStream)
        for (const t of localStream.getTracks()) t.stop();
    localStream = null;
    $('local-video').srcObject = null;
    $('local-tile').hidden = true;
    demo.dataOpen = false;
    setChatEnabled(false);
    setJoined(false);
    $('state-signal').textContent = 'closed';
    setStatus(status);
    renderParticipants();
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

async function join(options = {}) {
    if (demo.client && demo.client.state !== 'closed') throw new Error('already joined');
    const room = options.room || $('room').value.trim();
    const user = options.user || $('user').value.trim();
    const device = options.device || params.get('device') || undefined;
    const server = options.server !== undefined ? options.server : $('server').value.trim();
    const publish = options.publish !== undefined ? options.publish : $('publish').checked;
    const simulcast =
        options.simulcast !== undefined ? options.simulcast : params.get('simulcast') === '1';
    const base = server || location.origin;

    setJoined(true);
    setStatus(`joining ${room}…`);
    $('state-signal').textContent = 'connecting';
    const client = new HearthClient();
    demo.client = client;
    demo.published = null;
    wire(client);
    let result;
    try {
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
        throw e;
    }
    for (const p of result.room.participants || []) others.set(p.id, p);
    roomName = result.room.name;
    $('state-signal').textContent = 'joined';
    $('local-label').textContent = `${result.participant.user} (you)`;
    setStatus(`in ${result.room.name} as ${result.participant.user}`);
    log(`joined ${result.room.name} as ${result.participant.id}`);
    renderParticipants();
    if (publish && client.grants.includes('publish')) {
        demo.published = startPublishing(client, simulcast).catch(e => {
            demo.errors.push(`publish: ${e.code || e.message}`);
            log(`publish failed: ${e.code || ''} ${e.message}`, 'error');
        });
    }
    return result;
}

async function leave() {
    if (demo.client) await demo.client.leave();
    ended('left');
}

/* ---- the form ------------------------------------------------------------------------------ */

$('room').value = params.get('room') || 'lobby';
$('user').value = params.get('user') || '';
$('server').value = params.get('server') || '';
if (params.get('publish') === '0') $('publish').checked = false;

$('join-form').addEventListener('submit', ev => {
    ev.preventDefault();
    join().catch(() => {});
});
$('leave').addEventListener('click', () => leave());
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

if (params.get('autojoin') === '1' && $('user').value) join().catch(() => {});
