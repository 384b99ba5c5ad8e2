// approve_check.js - issue 14 in one real browser run: a plan of a signed
// workspace drafted, approved twice and applied in Debian's headless chromium,
// each step signed by its actor's passkey (puppeteer-core, one DevTools
// virtual authenticator per user). tests/e2e/scripts/web-approve.sh makes the
// workspace, starts the app and reads these lines: "ok WHAT" or "FAIL WHAT:
// why", one a check. It leaves plans 2 and 3 (alice's drafts) for the
// script's forgeries over HTTP.
//
// env: NODE_PATH (puppeteer-core, axe-core), CHROMIUM, BASE
// (http://localhost:PORT), LINK_alice / LINK_bob / LINK_dana (enrolment
// links), SHOTS (screenshot folder), PROBITY and WS (for decide), STORAGE_SUB
// (the customer's storage sub-account).
'use strict';
const { execFileSync } = require('child_process');
const { fail, check, shots, axeCheck, launch, passkeyUser, goFront, textOf, signDialog, enrolPasskey,
	passkeySignin, failures } = require('./web_helpers');

// The plan takes effect when it is applied: its apply signs the second it
// is made at (plan.apply's "from"), which the statement step and the signed
// step share however long the passkey dialog takes (pb_ws_set_clock, wa_at).
function decide(at) {
	try {
		return execFileSync(process.env.PROBITY, ['decide', process.env.WS, '--account', 'EA-880412',
			'--subaccount', process.env.STORAGE_SUB, '--service', 'Storage Accounts', '--region', 'westeurope',
			...(at ? ['--at', at] : [])],
		{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
	} catch (e) {
		return String(e.stdout || e).split('\n')[0];
	}
}

async function votes(page) {
	return page.$$eval('#votes tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
}

// A passkey-signed approval that verifies: kind, key, state (plans.c sig_cells).
function passkeyVote(v, who) {
	return v[0] === 'approve' && v[1] === who && v[6] === 'passkey' && /^webauthn:[A-Za-z0-9_-]{43}$/.test(v[7]) &&
		v[8] === 'signature verifies';
}

// Drafts a plan on case cid from alice's page, signed by her passkey: its id.
async function draft(a, cid, disable, effective) {
	await goFront(a.page, `/cases/${cid}/plans/new`);
	await a.page.type('#disable', disable);
	if (effective)
		await a.page.type('#effective', effective);
	await a.page.click('#plan-form button[type=submit]');
	const r = await signDialog(a.page, '"action": "plan.new"');
	const m = /\/plans\/(\d+)$/.exec(a.page.url());
	check(`alice drafts a plan (${disable}), signed by her passkey`, r.status() === 200 && m !== null,
		r.status() + ' ' + a.page.url() + ' ' + (await textOf(a.page, '.err')));
	return m ? m[1] : '0';
}

async function approve(u, id, comment) {
	await goFront(u.page, `/plans/${id}`);
	await u.page.type('#comment', comment);
	await u.page.click(`form[action="/plans/${id}/approve"] button[type=submit]`);
	return signDialog(u.page, '"action": "plan.approve"');
}

(async () => {
	const browser = await launch();
	try {
		const [a, b, d] = [await passkeyUser(browser, 'alice'), await passkeyUser(browser, 'bob'),
			await passkeyUser(browser, 'dana')];
		for (const u of [a, b, d]) {
			await enrolPasskey(u, process.env['LINK_' + u.name]);
			const s = await passkeySignin(u);
			check(`${u.name} signs in with the passkey`, s.status === 200 && s.who.includes(u.name), s.status + ' ' + s.who);
		}

		// alice opens a case on the customer and drafts a plan from it
		await goFront(a.page, '/cases');
		await a.page.type('#title', 'Mass surveillance reported');
		await a.page.type('#trigger', 'press report');
		await a.page.click('form[action="/cases"] button[type=submit]');
		let r = await signDialog(a.page, '"action": "case.open"');
		const cid = a.page.url().replace(/.*\/cases\//, '');
		check(`alice opens a case, signed by her passkey (${r.status()})`, r.status() === 200 && /^\d+$/.test(cid), a.page.url());
		const id = await draft(a, cid, 'category=Storage');
		check('the draft is plan 1', id === '1', id);
		check('the draft shows no approval yet', (await textOf(a.page, '#approvals')).startsWith('0 of 2'),
			await textOf(a.page, '#approvals'));
		await shots(a.page, 'plan-signed-before-approval');

		// approver 1, then approver 2, each with the passkey
		r = await approve(b, id, 'the evidence holds');
		let v = await votes(b.page);
		check('bob approves with his passkey: 1 of 2', r.status() === 200 &&
			(await textOf(b.page, '#approvals')).startsWith('1 of 2'), r.status() + ' ' + (await textOf(b.page, 'main')).slice(0, 300));
		check('...his approval shows passkey-signed and verifying', v.length === 1 && passkeyVote(v[0], 'bob'), JSON.stringify(v));
		await b.page.$eval('#approvals-h', (x) => x.scrollIntoView());
		await shots(b.page, 'plan-signed-one-approval');
		r = await approve(d, id, 'proportionate');
		check('dana approves with her passkey: 2 of 2', r.status() === 200 &&
			(await textOf(d.page, '#approvals')).startsWith('2 of 2'), r.status() + ' ' + (await textOf(d.page, 'main')).slice(0, 300));
		await d.page.$eval('#approvals-h', (x) => x.scrollIntoView());
		await shots(d.page, 'plan-signed-two-approvals');

		// apply from the browser, signed by alice; decide then denies storage
		check('before apply, decide allows the customer\'s storage call', decide() === 'allow', decide());
		await goFront(a.page, `/plans/${id}`);
		await a.page.click(`form[action="/plans/${id}/apply"] button[type=submit]`);
		r = await signDialog(a.page, '"action": "plan.apply"', null, 2200);
		const ver = await textOf(a.page, '#plan-version');
		check('alice applies it, signed by her passkey: the entitlements version on the page',
			r.status() === 200 && /^1 \(in force from /.test(ver), r.status() + ' ' + ver + ' ' + (await textOf(a.page, 'main')).slice(0, 400));
		check('probity decide denies the customer\'s storage call at once', decide() === 'deny', decide());

		// the plan page: both approvals passkey-signed, each verifying, by two keys
		await goFront(b.page, `/plans/${id}`);
		v = await votes(b.page);
		check('the plan page shows both approvals passkey-signed and verifying',
			v.length === 2 && passkeyVote(v[0], 'bob') && passkeyVote(v[1], 'dana') && v[0][7] !== v[1][7], JSON.stringify(v));
		await axeCheck(browser, await b.page.cookies(), `/plans/${id}`, 'the plan page of a signed workspace');

		// two more drafts for the forgeries over HTTP
		check('alice drafts plan 2', (await draft(a, cid, 'capability=translation')) === '2');
		check('alice drafts plan 3', (await draft(a, cid, 'capability=speech-to-text')) === '3');
		for (const u of [a, b, d]) await u.ctx.close();
	} catch (err) {
		fail('the browser run', err.stack || String(err));
	} finally {
		await browser.close();
	}
	process.exit(failures() ? 1 : 0);
})();
