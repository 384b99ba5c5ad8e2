// passkey_check.js - passkeys in probity web, in Debian's headless chromium
// with puppeteer-core and the DevTools virtual authenticator (ctap2,
// internal transport, resident keys, user verification on): one browser
// context and one authenticator per user. tests/e2e/scripts/web-passkeys.sh
// starts the app on a signed workspace and reads these lines: "ok WHAT" or
// "FAIL WHAT: why", one a check.
//
// env: NODE_PATH (puppeteer-core, axe-core), CHROMIUM, BASE
// (http://localhost:PORT), LINK_ALICE / LINK_BOB / LINK_ROOT (enrolment
// links), SHOTS (screenshot folder), ROOT_NAME.
'use strict';
const { ok, fail, check, shots, axeHere, launch, failures } = require('./web_helpers.js');

const BASE = process.env.BASE;
const ROOT = process.env.ROOT_NAME || 'root';

// A user: a browser context (cookies) with a page carrying its own
// virtual authenticator.
async function user(browser, name) {
	const ctx = await browser.createBrowserContext();
	const page = await ctx.newPage();
	await page.setViewport({ width: 1280, height: 800 });
	page.on('dialog', async (d) => { fail('no alert or confirm opens', d.message()); await d.dismiss(); });
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
async function go(page, p) {
	await page.bringToFront();
	return page.goto(BASE + p, { waitUntil: 'load' });
}

async function text(page, sel) {
	return page.$eval(sel, (e) => e.textContent).catch(() => '');
}

// Clicks sel and waits for the page it leads to.
async function clickNav(page, sel) {
	const [r] = await Promise.all([
		page.waitForNavigation({ waitUntil: 'load', timeout: 30000 }),
		page.click(sel),
	]);
	return r;
}

// The signing dialog: shows the statement; "Sign" and the page submits.
async function signDialog(page, want, shot) {
	await page.waitForSelector('#pk-sign', { visible: true, timeout: 15000 });
	const st = await text(page, '#pk-statement');
	check(`the dialog shows the statement being signed (${want})`, st.includes(want), st.slice(0, 200));
	if (shot)
		await shots(page, 'passkeys-' + shot);
	const nav = page.waitForNavigation({ waitUntil: 'load', timeout: 30000 });
	await page.click('#pk-sign');
	// the page navigates, or the script says why it could not sign
	const said = page.waitForFunction(() => {
		const e = document.getElementById('pk-error');
		return e && e.textContent;
	}, { timeout: 30000 }).then(async (h) => { throw new Error('not signed: ' + await h.jsonValue()); });
	said.catch(() => {});
	return Promise.race([nav, said]);
}

async function axeCheck(u, p, name) {
	const page = await u.ctx.newPage();
	await page.setBypassCSP(true);
	await page.goto(BASE + p, { waitUntil: 'load' });
	await axeHere(page, name);
	await page.close();
}

// Enrolment: the password, then a passkey under the same invitation,
// signed by itself.
async function enrol(u, link) {
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
	r = await signDialog(page, '"action": "user.passkey-add"', u.name === 'alice' ? 'enrol-dialog' : null);
	const body = await page.content();
	check(`${u.name} registers a passkey, signed by itself (${r.status()})`,
		r.status() === 200 && body.includes('Your passkey is registered'), await text(page, 'main'));
	const { credentials } = await u.cdp.send('WebAuthn.getCredentials', { authenticatorId: u.authenticatorId });
	check(`${u.name}'s authenticator holds one resident credential`,
		credentials.length === 1 && credentials[0].isResidentCredential, JSON.stringify(credentials.length));
}

async function passkeySignin(u) {
	const page = u.page;
	await go(page, '/signin');
	const r = await clickNav(page, 'button[data-passkey=signin]');
	return { status: r.status(), who: await text(page, 'header .who'), main: await text(page, 'main') };
}

async function signout(u) {
	await go(u.page, '/');
	await clickNav(u.page, 'header form[action="/signout"] button');
}

(async () => {
	const browser = await launch();
	try {
		const root = await user(browser, ROOT);
		const alice = await user(browser, 'alice');
		const bob = await user(browser, 'bob');
		await axeCheck(alice, '/signin', 'sign-in with its passkey button');

		for (const [u, link] of [[root, process.env.LINK_ROOT], [alice, process.env.LINK_ALICE], [bob, process.env.LINK_BOB]])
			await enrol(u, link);

		// sign in with the passkey, sign out, sign in again
		for (const u of [alice, bob, root]) {
			let s = await passkeySignin(u);
			check(`${u.name} signs in with the passkey`, s.status === 200 && s.who.includes(u.name), s.status + ' ' + s.main);
			await signout(u);
			s = await passkeySignin(u);
			check(`${u.name} signs in with it again after signing out`, s.status === 200 && s.who.includes(u.name),
				s.status + ' ' + s.main);
		}

		// the account page
		await go(alice.page, '/account');
		check('alice\'s account page lists her passkey with its fingerprint',
			(await text(alice.page, '#passkeys')).includes('webauthn:'), await text(alice.page, 'main'));
		check('... named as she named it', (await text(alice.page, '#passkeys')).includes('alice\'s laptop'));
		await shots(alice.page, 'passkeys-account');
		await axeCheck(alice, '/account', 'the account page');

		// alice opens a case and writes a note, each signed by her passkey
		await go(alice.page, '/cases');
		await alice.page.type('#title', 'passkey review');
		await alice.page.type('#trigger', 'a report');
		await alice.page.click('form[action="/cases"] button[type=submit]');
		let r = await signDialog(alice.page, '"action": "case.open"', 'sign-dialog');
		const caseUrl = alice.page.url();
		check(`alice opens a case, signed by her passkey (${r.status()} ${caseUrl})`,
			r.status() === 200 && /\/cases\/\d+$/.test(caseUrl), await text(alice.page, 'main'));
		const caseId = caseUrl.replace(/.*\/cases\//, '');
		await alice.page.type('#text', 'Signed in the browser by **alice**.');
		await alice.page.click(`form[action="/cases/${caseId}/note"] button[type=submit]`);
		r = await signDialog(alice.page, '"action": "case.note"');
		check('alice\'s note is written', r.status() === 200 &&
			(await alice.page.content()).includes('Signed in the browser by <strong>alice</strong>'),
			await text(alice.page, 'main'));

		// cancelling the dialog writes nothing and says so
		await alice.page.type('#text', 'never written');
		await alice.page.click(`form[action="/cases/${caseId}/note"] button[type=submit]`);
		await alice.page.waitForSelector('#pk-cancel', { visible: true });
		await alice.page.click('#pk-cancel');
		await alice.page.waitForSelector('#pk-error');
		check('cancelling the signature says nothing was changed',
			(await text(alice.page, '#pk-error')).includes('nothing was changed'), await text(alice.page, '#pk-error'));
		// the authenticator refusing (user verification fails) is said too
		await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: alice.authenticatorId, isUserVerified: false });
		await alice.page.click(`form[action="/cases/${caseId}/note"] button[type=submit]`);
		await alice.page.waitForSelector('#pk-sign', { visible: true });
		await alice.page.click('#pk-sign');
		await alice.page.waitForFunction(() => {
			const e = document.getElementById('pk-error');
			return e && e.textContent.includes('passkey did not answer');
		}, { timeout: 15000 }).then(() => ok('a failed user verification is said clearly'),
			async () => fail('a failed user verification is said clearly', await text(alice.page, '#pk-error')));
		await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: alice.authenticatorId, isUserVerified: true });

		// the admin pages, and the admin revokes bob's passkey
		for (const [p, name] of [['/admin/users', 'admin-users'], ['/admin/keys', 'admin-keys'],
			['/admin/passkeys', 'admin-passkeys'], ['/admin/origin', 'admin-origin']]) {
			r = await go(root.page, p);
			check(`${p} answers the admin`, r.status() === 200, r.status());
			await shots(root.page, 'passkeys-' + name);
			await axeCheck(root, p, p);
		}
		// each admin change is signed by the admin's passkey: a role, an SSH
		// key added and revoked, the origin declared again
		await go(root.page, '/admin/users');
		await root.page.type('#iname', 'carol');
		await root.page.select('#nrole', 'approver');
		await root.page.click('form[action="/admin/invite"] button[value=role]');
		r = await signDialog(root.page, '"action": "user.role"');
		check('the admin changes carol\'s role, signed', r.status() === 200 &&
			(await text(root.page, 'main table')).includes('approver'), await text(root.page, 'main'));
		await go(root.page, '/admin/keys');
		await root.page.type('#kuser', 'carol');
		await root.page.$eval('#kline', (e, v) => { e.value = v; }, process.env.KEY_CAROL + '\n');
		await root.page.click('form[action="/admin/keys"] button[type=submit]');
		r = await signDialog(root.page, '"action": "user.key-add"');
		check('the admin adds carol\'s pasted SSH key, signed', r.status() === 200 &&
			(await text(root.page, '#keys')).includes('carol'), await text(root.page, 'main'));
		const keyRow = await root.page.$$eval('#keys tbody tr', (trs) =>
			trs.findIndex((tr) => tr.cells[0].textContent === 'carol' && tr.textContent.includes('active')));
		const keyForm = `#keys tbody tr:nth-child(${keyRow + 1}) form`;
		await root.page.type(`${keyForm} input[name=reason]`, 'rotated');
		await root.page.click(`${keyForm} button[type=submit]`);
		r = await signDialog(root.page, '"action": "user.key-revoke"');
		check('... and revokes it with a reason, signed', r.status() === 200 &&
			(await text(root.page, '#keys')).includes('rotated'), await text(root.page, 'main'));
		await go(root.page, '/admin/origin');
		await root.page.type('#worigin', BASE);
		await root.page.click('form[action="/admin/origin"] button[type=submit]');
		r = await signDialog(root.page, '"action": "web.origin"');
		check('the admin declares the origin again, signed', r.status() === 200, r.status());
		check('the origin page shows the declared origin', (await go(root.page, '/admin/origin')) &&
			(await text(root.page, '#origin')).includes(BASE), await text(root.page, 'main'));
		r = await go(alice.page, '/admin/passkeys');
		check('an analyst may not see the admin pages (403)', r.status() === 403, r.status());

		await go(root.page, '/admin/passkeys');
		const row = await root.page.$$eval('#passkeys tbody tr', (trs) =>
			trs.map((tr, i) => ({ i, user: tr.cells[0].textContent, active: tr.textContent.includes('active') })));
		const bobRow = row.find((x) => x.user === 'bob' && x.active);
		check('the admin page lists bob\'s passkey, active', bobRow !== undefined, JSON.stringify(row));
		if (bobRow) {
			const form = `#passkeys tbody tr:nth-child(${bobRow.i + 1}) form`;
			await root.page.type(`${form} input[name=reason]`, 'laptop lost');
			await root.page.click(`${form} button[type=submit]`);
			r = await signDialog(root.page, '"action": "user.passkey-revoke"');
			check('the admin revokes it, signed by the admin\'s passkey', r.status() === 200 &&
				(await text(root.page, '#passkeys')).includes('laptop lost'), await text(root.page, 'main'));
			await shots(root.page, 'passkeys-admin-passkeys-revoked');
		}
		await signout(bob);
		const s = await passkeySignin(bob);
		check(`bob's revoked passkey signs him in no more (${s.status})`, s.status === 403 && !s.who.includes('bob'),
			s.status + ' ' + s.main);
	} catch (e) {
		fail('the browser run', e.stack || e);
	} finally {
		await browser.close();
	}
	process.exit(failures() ? 1 : 0);
})();
