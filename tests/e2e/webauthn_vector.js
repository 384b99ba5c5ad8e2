// webauthn_vector.js - makes a WebAuthn test vector with Chromium's virtual
// authenticator (DevTools WebAuthn domain: ctap2, internal transport, user
// verification, resident keys), for tests/unit/test_webauthn.c: a blank page
// on http://localhost:PORT (Chromium refuses an IP address as RP ID; the
// server listens on 127.0.0.1), one navigator.credentials.create() with a
// fixed challenge, one navigator.credentials.get() whose challenge is
// SHA-256 of a fixed statement (as probity's log signs), printed as JSON.
// Run once by hand; its output is committed (tests/data/webauthn/README).
//
// usage: NODE_PATH=$(tools/npm-deps.sh --web) CHROMIUM=/usr/bin/chromium \
//        node tests/e2e/webauthn_vector.js es256|eddsa > FILE.json
'use strict';
const puppeteer = require('puppeteer-core');
const http = require('http');
const crypto = require('crypto');

const ALG = { es256: -7, eddsa: -8 }[process.argv[2]];
if (!ALG) {
	console.error('usage: webauthn_vector.js es256|eddsa');
	process.exit(2);
}
const STATEMENT = 'probity webauthn test vector\nentry: user.passkey-add\n';
const CREATE_CHALLENGE = crypto.createHash('sha256').update('probity create challenge').digest();
const GET_CHALLENGE = crypto.createHash('sha256').update(STATEMENT).digest();
const b64url = (b) => Buffer.from(b).toString('base64url');

(async () => {
	const server = http.createServer((req, res) => {
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end('<!DOCTYPE html><html><head><title>vector</title></head><body></body></html>');
	});
	await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
	const origin = 'http://localhost:' + server.address().port;
	const timer = setTimeout(() => { console.error('timed out'); process.exit(1); }, 60000);
	const browser = await puppeteer.launch({
		executablePath: process.env.CHROMIUM, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	let rc = 0;
	try {
		const page = await browser.newPage();
		await page.goto(origin + '/', { waitUntil: 'load' });
		const cdp = await page.createCDPSession();
		await cdp.send('WebAuthn.enable');
		await cdp.send('WebAuthn.addVirtualAuthenticator', {
			options: {
				protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
				hasUserVerification: true, isUserVerified: true,
			},
		});
		const out = await page.evaluate(async (alg, cc, gc) => {
			const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
				.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
			const cred = await navigator.credentials.create({
				publicKey: {
					challenge: new Uint8Array(cc),
					rp: { id: 'localhost', name: 'probity' },
					user: { id: new Uint8Array([1, 2, 3, 4]), name: 'alice', displayName: 'Alice' },
					pubKeyCredParams: [{ type: 'public-key', alg }],
					authenticatorSelection: { userVerification: 'required', residentKey: 'required' },
					attestation: 'none',
				},
			});
			const as = await navigator.credentials.get({
				publicKey: {
					challenge: new Uint8Array(gc), rpId: 'localhost', userVerification: 'required',
					allowCredentials: [{ type: 'public-key', id: cred.rawId }],
				},
			});
			return {
				registration: {
					id: cred.id, rawId: b64(cred.rawId), type: cred.type,
					response: {
						attestationObject: b64(cred.response.attestationObject),
						clientDataJSON: b64(cred.response.clientDataJSON),
					},
				},
				assertion: {
					id: as.id,
					response: {
						authenticatorData: b64(as.response.authenticatorData),
						clientDataJSON: b64(as.response.clientDataJSON),
						signature: b64(as.response.signature),
					},
				},
			};
		}, ALG, [...CREATE_CHALLENGE], [...GET_CHALLENGE]);
		const v = {
			made_by: 'tests/e2e/webauthn_vector.js ' + process.argv[2] + ' (' + (await browser.version()) + ')',
			rp_id: 'localhost', origin, alg: ALG,
			create_challenge: b64url(CREATE_CHALLENGE), statement: STATEMENT,
			registration: out.registration, assertion: out.assertion,
		};
		console.log(JSON.stringify(v, null, 1));
	} catch (e) {
		console.error('webauthn_vector: ' + e.message);
		rc = 1;
	} finally {
		clearTimeout(timer);
		await browser.close();
		server.close();
	}
	process.exit(rc);
})();
