// Captures real SDP from Chromium for tests/sdp/fixtures, and checks hearth's
// builders against it. Not run by CI. Run inside a loopback-only namespace:
//   cd /tmp/sdpcap && npm i playwright-core
//   unshare -n -- bash -c 'ip link set lo up && node capture.mjs capture OUTDIR'
//   unshare -n -- bash -c 'ip link set lo up && node capture.mjs check OUTDIR TOOL'
// "capture" writes chromium_pub.sdp (audio+video+data, sendonly) and
// chromium_pub_simulcast.sdp (video with rids q/h/f). "check" makes a fresh
// offer, pipes it to `TOOL answer` and applies the result with
// setRemoteDescription; then applies `TOOL offer 1..5` (a renegotiation
// sequence) as remote offers to one fresh RTCPeerConnection and writes
// Chromium's answers (chromium_answer_subN.sdp). Results go to stdout.
// TOOL is tests/sdp/capture/sdptool.c built against libhearth.a.
import { createRequire } from 'module';
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

const require = createRequire(path.join(process.cwd(), 'x.js'));
const { chromium } = require('playwright-core');

const [mode, outdir, tool] = process.argv.slice(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chr-'));
const args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${dir}`, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--remote-debugging-pipe', '--no-default-browser-check', '--mute-audio',
    '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns'];
const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium', ignoreDefaultArgs: true, args });
const page = ctx.pages()[0] || await ctx.newPage();

// A publisher PC: sendonly audio + video (optionally simulcast) + a data channel.
const makePublisher = async (simulcast) => page.evaluate(async (sim) => {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const pc = new RTCPeerConnection();
    window.pc = pc;
    pc.addTransceiver(s.getAudioTracks()[0], { direction: 'sendonly', streams: [s] });
    const v = { direction: 'sendonly', streams: [s] };
    if (sim) v.sendEncodings = [{ rid: 'q', scaleResolutionDownBy: 4 },
        { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }];
    pc.addTransceiver(s.getVideoTracks()[0], v);
    pc.createDataChannel('data');
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== 'complete')
        await new Promise(r => pc.addEventListener('icegatheringstatechange',
            () => pc.iceGatheringState === 'complete' && r()));
    return pc.localDescription.sdp;
}, simulcast);

if (mode === 'capture') {
    fs.writeFileSync(path.join(outdir, 'chromium_pub.sdp'), await makePublisher(false));
    fs.writeFileSync(path.join(outdir, 'chromium_pub_simulcast.sdp'), await makePublisher(true));
    console.log('captured', await page.evaluate(() => navigator.userAgent));
} else if (mode === 'check') {
    for (const sim of [false, true]) {
        const offer = await makePublisher(sim);
        const answer = execFileSync(tool, ['answer'], { input: offer }).toString();
        const r = await page.evaluate(async (sdp) => {
            try { await window.pc.setRemoteDescription({ type: 'answer', sdp });
                return 'accepted, signalingState=' + window.pc.signalingState; }
            catch (e) { return 'error: ' + e.message; }
        }, answer);
        console.log(`answer to Chromium offer (simulcast=${sim}): ${r}`);
        fs.writeFileSync(path.join(outdir, `hearth_answer_to_chromium${sim ? '_simulcast' : ''}.sdp`), answer);
    }
    // One subscriber PC through the whole renegotiation sequence of `TOOL offer N`.
    await page.evaluate(() => { window.sub = new RTCPeerConnection(); });
    for (let step = 1; step <= 5; step++) {
        const offer = execFileSync(tool, ['offer', String(step)]).toString();
        const r = await page.evaluate(async (sdp) => {
            const pc = window.sub;
            try {
                await pc.setRemoteDescription({ type: 'offer', sdp });
                const a = await pc.createAnswer();
                await pc.setLocalDescription(a);
                const t = pc.getTransceivers().map(x =>
                    `${x.mid}:${x.receiver.track.kind}:${x.currentDirection}`);
                return { ok: true, sdp: a.sdp, info: t.join(' ') };
            } catch (e) { return { ok: false, info: e.message }; }
        }, offer);
        console.log(`hearth offer ${step} -> Chromium: ${r.ok ? 'accepted, answered; ' : 'error: '}${r.info}`);
        fs.writeFileSync(path.join(outdir, `hearth_sub_offer${step}.sdp`), offer);
        if (r.ok) fs.writeFileSync(path.join(outdir, `chromium_answer_sub${step}.sdp`), r.sdp);
    }
}
await ctx.close();
