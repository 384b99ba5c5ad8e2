// web_helpers.js - what the puppeteer-core drivers of probity web share
// (web_check.js, plans_check.js, passkey_check.js, approve_check.js): the
// "ok WHAT" / "FAIL WHAT: why" lines the e2e scripts read, pages, form
// submission, screenshots at 1280x800 and 390x844 (SHOTS), axe-core, the
// browser's launch with the flags of tests/e2e/browser.sh, and passkeys: a
// user with Chromium's virtual authenticator, enrolment, sign-in and the
// signing dialog.
//
// env: NODE_PATH (puppeteer-core, axe-core), CHROMIUM, BASE, SHOTS.
'use strict';
const puppeteer = require('puppeteer-core');
const path = require('path');

const BASE = process.env.BASE;
const SHOTS = process.env.SHOTS;
let failed = 0;
function ok(what) { console.log('ok ' + what); }
function fail(what, why) { failed++; console.log('FAIL ' + what + ': ' + why); }
function check(what, cond, why) { if (cond) ok(what); else fail(what, why || 'false'); }

async function newPage(ctx) {
	const page = await ctx.newPage();
	await page.setViewport({ width: 1280, height: 800 });
	page.on('dialog', async (d) => { fail('no script of ours or theirs opens a dialog', d.message()); await d.dismiss(); });
	return page;
}

async function go(page, p) {
	const r = await page.goto(BASE + p, { waitUntil: 'load' });
	return r;
}

async function submit(page, formSel, fields) {
	for (const [sel, val] of Object.entries(fields || {})) {
		await page.$eval(sel, (e, v) => { e.value = v; }, val);
	}
	const [r] = await Promise.all([
		page.waitForNavigation({ waitUntil: 'load' }),
		page.$eval(formSel, (f) => f.requestSubmit()),
	]);
	return r;
}

const shotsTaken = [];
async function shots(page, name) {
	for (const [w, h, tag] of [[1280, 800, 'desktop'], [390, 844, 'phone']]) {
		await page.setViewport({ width: w, height: h });
		const file = path.join(SHOTS, `${name}-${tag}.png`);
		await page.screenshot({ path: file, fullPage: false });
		shotsTaken.push(file);
		const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		check(`${name} at ${w}x${h}: no page-wide horizontal scroll`, over <= 1, `${over}px too wide`);
	}
	await page.setViewport({ width: 1280, height: 800 });
}

// axe on the page as it is (an answer to a POST, which axeCheck cannot load
// again): the page must have been loaded with page.setBypassCSP(true).
async function axeHere(page, name) {
	await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
	const res = await page.evaluate(async () => {
		const r = await window.axe.run(document, { resultTypes: ['violations'] });
		return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => v.id + ' (' + v.nodes.length + ')');
	});
	check(`axe: ${name} has no serious or critical violation`, res.length === 0, res.join(', '));
}

async function axeCheck(browser, cookies, p, name) {
	const ctx = await browser.createBrowserContext();
	const page = await ctx.newPage();
	await page.setBypassCSP(true); // axe is injected as a script; the app's own pages carry none
	if (cookies.length) await page.setCookie(...cookies);
	await page.goto(BASE + p, { waitUntil: 'load' });
	await axeHere(page, name);
	await ctx.close();
}

function launch() {
	return puppeteer.launch({
		executablePath: process.env.CHROMIUM, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
}

// ---- passkeys: Chromium's virtual authenticator (DevTools WebAuthn) ----

// A user with a passkey: a browser context (cookies) and a page carrying its
// own virtual authenticator (ctap2, internal, resident keys, user
// verification on).
async function passkeyUser(browser, name) {
	const ctx = await browser.createBrowserContext();
	const page = await newPage(ctx);
	const cdp = await page.createCDPSession();
	await cdp.send('WebAuthn.enable');
	const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
		options: {
			protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
			hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
		},
	});
	return { name, ctx, page, cdp, authenticatorId };
}

// WebAuthn answers a focused document only: the page in front first.
async function goFront(page, p) {
	await page.bringToFront();
	return page.goto(BASE + p, { waitUntil: 'load' });
}

async function textOf(page, sel) {
	return page.$eval(sel, (e) => e.textContent).catch(() => '');
}

// Clicks sel and waits (30 s at most) for the page it leads to.
async function clickNav(page, sel) {
	const [r] = await Promise.all([
		page.waitForNavigation({ waitUntil: 'load', timeout: 30000 }),
		page.click(sel),
	]);
	return r;
}

// The signing dialog of a data-sign form: it must show the statement (want
// in it; screenshots named shot when given); "Sign with my passkey" and the
// page submits, or the script says why it could not sign (thrown). Returns
// the answer of the real submit.
async function signDialog(page, want, shot, pauseMs) {
	await page.waitForSelector('#pk-sign', { visible: true, timeout: 15000 });
	const st = await textOf(page, '#pk-statement');
	check(`the dialog shows the statement being signed (${want})`, st.includes(want), st.slice(0, 200));
	if (shot)
		await shots(page, shot);
	// a person reads the statement before signing: seconds pass between the
	// statement step and the signed one
	if (pauseMs)
		await new Promise((r) => setTimeout(r, pauseMs));
	const nav = page.waitForNavigation({ waitUntil: 'load', timeout: 30000 });
	await page.click('#pk-sign');
	const said = page.waitForFunction(() => {
		const e = document.getElementById('pk-error');
		return e && e.textContent;
	}, { timeout: 30000 }).then(async (h) => { throw new Error('not signed: ' + await h.jsonValue()); });
	said.catch(() => {});
	return Promise.race([nav, said]);
}

// Enrolment of a signed workspace: the password through the invitation's
// link, then a passkey under the same invitation, signed by itself (the
// dialog's screenshots named shot when given).
async function enrolPasskey(u, link, shot) {
	const page = u.page;
	await page.bringToFront();
	await page.goto(link.replace(/^http:\/\/[^/]+/, BASE), { waitUntil: 'load' });
	const pw = u.name + '-password-1';
	await page.$eval('#password', (e, v) => { e.value = v; }, pw);
	await page.$eval('#again', (e, v) => { e.value = v; }, pw);
	let r = await clickNav(page, 'form[action="/enrol"] button[type=submit]');
	check(`${u.name} sets a password`, r.status() === 200 && (await page.content()).includes('Your password is set'),
		'status ' + r.status());
	check(`${u.name}: the page offers a passkey under the invitation`,
		(await page.$('form[action="/enrol/passkey"] button[data-passkey=register]')) !== null);
	await page.type('#label', `${u.name}'s laptop`);
	await page.click('button[data-passkey=register]');
	r = await signDialog(page, '"action": "user.passkey-add"', shot);
	check(`${u.name} registers a passkey, signed by itself (${r.status()})`,
		r.status() === 200 && (await page.content()).includes('Your passkey is registered'), await textOf(page, 'main'));
	const { credentials } = await u.cdp.send('WebAuthn.getCredentials', { authenticatorId: u.authenticatorId });
	check(`${u.name}'s authenticator holds one resident credential`,
		credentials.length === 1 && credentials[0].isResidentCredential, JSON.stringify(credentials.length));
}

// Signs u in with the passkey from /signin: the answer's status, who is
// signed in (the header) and the page's main text.
async function passkeySignin(u) {
	await goFront(u.page, '/signin');
	const r = await clickNav(u.page, 'button[data-passkey=signin]');
	return { status: r.status(), who: await textOf(u.page, 'header .who'), main: await textOf(u.page, 'main') };
}

module.exports = { ok, fail, check, newPage, go, submit, shots, shotsTaken, axeCheck, axeHere, launch,
	passkeyUser, goFront, textOf, clickNav, signDialog, enrolPasskey, passkeySignin, failures: () => failed };
