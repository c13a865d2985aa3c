/*
 * A test's own TLS certificate (self-signed, for 127.0.0.1 and localhost, made with the openssl
 * CLI) and the Chromium flag that trusts it and nothing else: Chromium checks the certificates
 * of wss://, https:// and turns: servers, TURN over TLS included.
 */
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Writes cert.pem and key.pem (P-256) into dir; returns {cert, key, spkiFlag}. */
export function makeCert(dir, cn = 'localhost') {
    const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
    execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`,
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'
    ], {stdio: 'pipe'});
    const spki = crypto.createPublicKey(fs.readFileSync(cert))
                     .export({type: 'spki', format: 'der'});
    const hash = crypto.createHash('sha256').update(spki).digest('base64');
    return {cert, key, spkiFlag: `--ignore-certificate-errors-spki-list=${hash}`};
}
