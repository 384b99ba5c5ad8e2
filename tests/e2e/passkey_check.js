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
const { ok, fail, check, shots, axeHere, launch, passkeyUser, goFront, textOf, clickNav, signDialog, enrolPasskey,
	passkeySignin, failures } = require('./web_helpers.js');

const BASE = process.env.BASE;
const ROOT = process.env.ROOT_NAME || 'root';

async function axeCheck(u, p, name) {
	const page = await u.ctx.newPage();
	await page.setBypassCSP(true);
	await page.goto(BASE + p, { waitUntil: 'load' });
	await axeHere(page, name);
	await page.close();
}

async function signout(u) {
	await goFront(u.page, '/');
	await clickNav(u.page, 'header form[action="/signout"] button');
}

(async () => {
	const browser = await launch();
	try {
		const root = await passkeyUser(browser, ROOT);
		const alice = await passkeyUser(browser, 'alice');
		const bob = await passkeyUser(browser, 'bob');
		await axeCheck(alice, '/signin', 'sign-in with its passkey button');

		for (const [u, link] of [[root, process.env.LINK_ROOT], [alice, process.env.LINK_ALICE], [bob, process.env.LINK_BOB]])
			await enrolPasskey(u, link, u.name === 'alice' ? 'passkeys-enrol-dialog' : null);

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
		await goFront(alice.page, '/account');
		check('alice\'s account page lists her passkey with its fingerprint',
			(await textOf(alice.page, '#passkeys')).includes('webauthn:'), await textOf(alice.page, 'main'));
		check('... named as she named it', (await textOf(alice.page, '#passkeys')).includes('alice\'s laptop'));
		await shots(alice.page, 'passkeys-account');
		await axeCheck(alice, '/account', 'the account page');

		// alice opens a case and writes a note, each signed by her passkey
		await goFront(alice.page, '/cases');
		await alice.page.type('#title', 'passkey review');
		await alice.page.type('#trigger', 'a report');
		await alice.page.click('form[action="/cases"] button[type=submit]');
		let r = await signDialog(alice.page, '"action": "case.open"', 'passkeys-sign-dialog');
		const caseUrl = alice.page.url();
		check(`alice opens a case, signed by her passkey (${r.status()} ${caseUrl})`,
			r.status() === 200 && /\/cases\/\d+$/.test(caseUrl), await textOf(alice.page, 'main'));
		const caseId = caseUrl.replace(/.*\/cases\//, '');
		await alice.page.type('#text', 'Signed in the browser by **alice**.');
		await alice.page.click(`form[action="/cases/${caseId}/note"] button[type=submit]`);
		r = await signDialog(alice.page, '"action": "case.note"');
		check('alice\'s note is written', r.status() === 200 &&
			(await alice.page.content()).includes('Signed in the browser by <strong>alice</strong>'),
			await textOf(alice.page, 'main'));

		// a document upload is signed too: the statement names the file's hash,
		// both steps post the file (multipart)
		const docPath = require('path').join(process.env.TMP || '/tmp', 'signed-upload.txt');
		require('fs').writeFileSync(docPath, 'minutes of the call, signed upload\n');
		const docHash = require('crypto').createHash('sha256').update('minutes of the call, signed upload\n').digest('hex');
		const input = await alice.page.$(`form[action="/cases/${caseId}/documents"] input[type=file]`);
		await input.uploadFile(docPath);
		await alice.page.click(`form[action="/cases/${caseId}/documents"] button[type=submit]`);
		r = await signDialog(alice.page, docHash);
		check('alice\'s document is attached, signed by her passkey', r.status() === 200 &&
			(await alice.page.content()).includes('signed-upload.txt'), await textOf(alice.page, 'main'));

		// cancelling the dialog writes nothing and says so
		await alice.page.type('#text', 'never written');
		await alice.page.click(`form[action="/cases/${caseId}/note"] button[type=submit]`);
		await alice.page.waitForSelector('#pk-cancel', { visible: true });
		await alice.page.click('#pk-cancel');
		await alice.page.waitForSelector('#pk-error');
		check('cancelling the signature says nothing was changed',
			(await textOf(alice.page, '#pk-error')).includes('nothing was changed'), await textOf(alice.page, '#pk-error'));
		// the authenticator refusing (user verification fails) is said too
		await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: alice.authenticatorId, isUserVerified: false });
		await alice.page.click(`form[action="/cases/${caseId}/note"] button[type=submit]`);
		await alice.page.waitForSelector('#pk-sign', { visible: true });
		await alice.page.click('#pk-sign');
		await alice.page.waitForFunction(() => {
			const e = document.getElementById('pk-error');
			return e && e.textContent.includes('passkey did not answer');
		}, { timeout: 15000 }).then(() => ok('a failed user verification is said clearly'),
			async () => fail('a failed user verification is said clearly', await textOf(alice.page, '#pk-error')));
		await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: alice.authenticatorId, isUserVerified: true });

		// the admin pages, and the admin revokes bob's passkey
		for (const [p, name] of [['/admin/users', 'admin-users'], ['/admin/keys', 'admin-keys'],
			['/admin/passkeys', 'admin-passkeys'], ['/admin/origin', 'admin-origin']]) {
			r = await goFront(root.page, p);
			check(`${p} answers the admin`, r.status() === 200, r.status());
			await shots(root.page, 'passkeys-' + name);
			await axeCheck(root, p, p);
		}
		// each admin change is signed by the admin's passkey: a role, an SSH
		// key added and revoked, the origin declared again
		await goFront(root.page, '/admin/users');
		await root.page.type('#iname', 'carol');
		await root.page.select('#nrole', 'approver');
		await root.page.click('form[action="/admin/invite"] button[value=role]');
		r = await signDialog(root.page, '"action": "user.role"');
		check('the admin changes carol\'s role, signed', r.status() === 200 &&
			(await textOf(root.page, 'main table')).includes('approver'), await textOf(root.page, 'main'));
		await goFront(root.page, '/admin/keys');
		await root.page.type('#kuser', 'carol');
		await root.page.$eval('#kline', (e, v) => { e.value = v; }, process.env.KEY_CAROL + '\n');
		await root.page.click('form[action="/admin/keys"] button[type=submit]');
		r = await signDialog(root.page, '"action": "user.key-add"');
		check('the admin adds carol\'s pasted SSH key, signed', r.status() === 200 &&
			(await textOf(root.page, '#keys')).includes('carol'), await textOf(root.page, 'main'));
		const keyRow = await root.page.$$eval('#keys tbody tr', (trs) =>
			trs.findIndex((tr) => tr.cells[0].textContent === 'carol' && tr.textContent.includes('active')));
		const keyForm = `#keys tbody tr:nth-child(${keyRow + 1}) form`;
		await root.page.type(`${keyForm} input[name=reason]`, 'rotated');
		await root.page.click(`${keyForm} button[type=submit]`);
		r = await signDialog(root.page, '"action": "user.key-revoke"');
		check('... and revokes it with a reason, signed', r.status() === 200 &&
			(await textOf(root.page, '#keys')).includes('rotated'), await textOf(root.page, 'main'));
		await goFront(root.page, '/admin/origin');
		await root.page.type('#worigin', BASE);
		await root.page.click('form[action="/admin/origin"] button[type=submit]');
		r = await signDialog(root.page, '"action": "web.origin"');
		check('the admin declares the origin again, signed', r.status() === 200, r.status());
		check('the origin page shows the declared origin', (await goFront(root.page, '/admin/origin')) &&
			(await textOf(root.page, '#origin')).includes(BASE), await textOf(root.page, 'main'));
		r = await goFront(alice.page, '/admin/passkeys');
		check('an analyst may not see the admin pages (403)', r.status() === 403, r.status());

		await goFront(root.page, '/admin/passkeys');
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
				(await textOf(root.page, '#passkeys')).includes('laptop lost'), await textOf(root.page, 'main'));
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
