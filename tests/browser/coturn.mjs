/*
 * A real coturn for the browser tests (PEERS.md: coturn 4.6.1 with `use-auth-secret` on
 * loopback), started on a free port and stopped by its PID. Missing coturn: Skip, or a failure
 * under CI=true.
 */
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {Skip, sleep} from './harness.mjs';

const TURNSERVER = '/usr/bin/turnserver';

/* A TCP port free on 127.0.0.1 (coturn takes the same number for UDP; a clash shows at start). */
function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const {port} = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

export class Coturn {
    constructor(secret, realm = 'hearth') {
        this.secret = secret;
        this.realm = realm;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-coturn-'));
        this.proc = null;
        this.port = null;
    }

    async start() {
        if (!fs.existsSync(TURNSERVER)) {
            const why = 'coturn is not installed (apt-get install coturn)';
            if (/^(1|true|yes)$/i.test(process.env.CI || ''))
                throw new Error(`${why} (CI=true: a missing peer fails the test)`);
            throw new Skip(why);
        }
        this.port = await freePort();
        const relay = await freePort();
        const conf = path.join(this.dir, 'turnserver.conf');
        fs.writeFileSync(conf, [
            'listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', `listening-port=${this.port}`,
            'use-auth-secret', `static-auth-secret=${this.secret}`, `realm=${this.realm}`,
            'allow-loopback-peers', 'no-cli', 'no-tls', 'no-dtls', 'fingerprint',
            `min-port=${relay}`, `max-port=${Math.min(relay + 200, 65535)}`,
            `pidfile=${this.dir}/turnserver.pid`, `log-file=${this.dir}/turn.log`, 'simple-log', ''
        ].join('\n'));
        const log = fs.openSync(path.join(this.dir, 'stdout.log'), 'a');
        this.proc = spawn(TURNSERVER, ['-c', conf], {stdio: ['ignore', log, log]});
        fs.closeSync(log);
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
            if (this.proc.exitCode !== null) break;
            const up = await new Promise(resolve => {
                const s = net.connect(this.port, '127.0.0.1', () => {
                    s.destroy();
                    resolve(true);
                });
                s.on('error', () => resolve(false));
            });
            if (up) return this;
            await sleep(50);
        }
        throw new Error(`coturn did not start:\n${this.logTail()}`);
    }

    logTail(lines = 20) {
        for (const f of ['turn.log', 'stdout.log']) {
            try {
                const t = fs.readFileSync(path.join(this.dir, f), 'utf8');
                if (t) return t.split('\n').slice(-lines).join('\n');
            } catch {
                /* next */
            }
        }
        return '(no log)';
    }

    async stop() {
        const p = this.proc;
        this.proc = null;
        if (p && p.exitCode === null && p.signalCode === null) {
            const gone = new Promise(r => p.once('exit', r));
            p.kill('SIGTERM');
            const t = setTimeout(() => p.kill('SIGKILL'), 3000);
            await gone;
            clearTimeout(t);
        }
        fs.rmSync(this.dir, {recursive: true, force: true});
    }
}
