// web_check.js - drives probity web in Debian's headless chromium with
// puppeteer-core (tests/e2e/scripts/web-browser.sh starts the app and reads
// these lines): "ok WHAT" or "FAIL WHAT: why", one a check.
//
// env: NODE_PATH (puppeteer-core, axe-core), CHROMIUM, BASE (http://127.0.0.1:PORT),
// LINK_ALICE / LINK_AUD / LINK_ROOT (enrolment links), SHOTS (screenshot folder),
// CUSTOMER (a customer's name), ROOT_NAME (the admin's name).
'use strict';
const fs = require('fs');
const path = require('path');

const BASE = process.env.BASE;
const { ok, fail, check, newPage, go, submit, shots, shotsTaken, axeCheck, axeHere, launch,
	failures } = require('./web_helpers');
const PW = { alice: 'alice-password-1', aud: 'auditor-password-1', root: 'admin-password-1' };

const HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>\'"&' + 'L'.repeat(3000);

async function enrol(page, link, pw) {
	await page.goto(link.replace(/^http:\/\/[^/]+/, BASE), { waitUntil: 'load' });
	const r = await submit(page, 'form[action="/enrol"]', { '#password': pw, '#again': pw });
	return r.status() === 200 && (await page.content()).includes('Your password is set');
}

async function signin(page, name, pw) {
	await go(page, '/signin');
	const r = await submit(page, 'form[action="/signin"]', { '#name': name, '#password': pw });
	return r;
}

// A POST from the page itself (same origin) with exactly this body: a form
// is built and sent (the app's CSP allows no fetch), and its request body is
// replaced on the way, so it may carry anything, even percent-encoded bytes
// that are not UTF-8. Returns the status; the page has navigated.
async function postFrom(page, p, body) {
	await page.setRequestInterception(true);
	const handler = (req) => {
		if (req.method() === 'POST' && req.url() === BASE + p)
			req.continue({ postData: body, headers: { ...req.headers(), 'content-type': 'application/x-www-form-urlencoded' } });
		else
			req.continue();
	};
	page.on('request', handler);
	const [r] = await Promise.all([
		page.waitForNavigation({ waitUntil: 'load' }),
		page.evaluate((p) => {
			const f = document.createElement('form');
			f.method = 'post';
			f.action = p;
			document.body.appendChild(f);
			f.submit();
		}, p),
	]);
	page.off('request', handler);
	await page.setRequestInterception(false);
	return r.status();
}

async function csrfOf(page) {
	return page.$eval('input[name=csrf]', (e) => e.value);
}


(async () => {
	const browser = await launch();
	try {
		const ctxA = await browser.createBrowserContext();
		const a = await newPage(ctxA);

		// enrolment links set passwords, once
		check('alice enrols through her link', await enrol(a, process.env.LINK_ALICE, PW.alice));
		await a.goto(process.env.LINK_ALICE.replace(/^http:\/\/[^/]+/, BASE));
		const again = await submit(a, 'form[action="/enrol"]', { '#password': 'x'.repeat(12), '#again': 'x'.repeat(12) });
		check('an enrolment link works once', again.status() === 403, 'status ' + again.status());
		check('the auditor enrols', await enrol(a, process.env.LINK_AUD, PW.aud));
		check('the admin enrols', await enrol(a, process.env.LINK_ROOT, PW.root));

		// sign in: bad, then good
		let r = await signin(a, 'alice', 'not-her-password');
		check('a wrong password is refused', r.status() === 403 &&
			(await a.content()).includes('wrong user name or password'), 'status ' + r.status());
		await shots(a, 'signin');
		await axeCheck(browser, [], '/signin', 'sign-in');
		r = await signin(a, 'alice', PW.alice);
		check('alice signs in', r.status() === 200 && a.url() === BASE + '/', a.url());
		const hdr = r.headers();
		check('CSP with a nonce and frame-ancestors none', /script-src 'nonce-[0-9a-f]+'/.test(hdr['content-security-policy'] || '') &&
			/frame-ancestors 'none'/.test(hdr['content-security-policy']), hdr['content-security-policy']);
		check('nosniff and referrer policy', hdr['x-content-type-options'] === 'nosniff' && hdr['referrer-policy'] === 'same-origin');
		const cookiesA = await a.cookies();
		const sess = cookiesA.find((c) => c.name === 'pb_session');
		check('the session cookie is HttpOnly and SameSite=Strict', sess && sess.httpOnly && sess.sameSite === 'Strict',
			JSON.stringify(sess));
		check('the session id is 256 bits', sess && /^[0-9a-f]{64}$/.test(sess.value));
		const jsCookie = await a.evaluate(() => document.cookie);
		check('scripts cannot read the session cookie', !jsCookie.includes('pb_session'), jsCookie);
		await shots(a, 'home');

		// a review: open a case with a hostile title, note, close
		await go(a, '/cases');
		r = await submit(a, 'form[action="/cases"]', { '#customer': process.env.CUSTOMER, '#title': HOSTILE, '#trigger': 'press report' });
		const caseUrl = a.url();
		check('alice opens a case', r.status() === 200 && /\/cases\/\d+$/.test(caseUrl), r.status() + ' ' + caseUrl);
		const caseId = caseUrl.replace(/.*\//, '');
		const injected = await a.evaluate(() => document.querySelectorAll('main img, main script').length);
		check('a hostile title is shown escaped, not run', injected === 0, injected + ' elements injected');
		check('the hostile title is shown as text', (await a.$eval('main', (m) => m.textContent)).includes('<script>alert(2)</script>'));
		r = await submit(a, `form[action="/cases/${caseId}/note"]`, { '#text': 'Checked the **accounts**. <b>bold?</b>' });
		check('alice adds a note', r.status() === 200 && (await a.content()).includes('case.note'));
		check('the note is escaped', (await a.evaluate(() => document.querySelectorAll('main b').length)) === 0);
		// a document: uploaded through the form (multipart), listed, downloaded
		// by its hash as an attachment that is never shown as a page
		const docName = '<b>doc<i>.html';
		const docBody = '<script>alert(4)</script>' + 'D'.repeat(200000); // over 64 KiB: streamed
		const docPath = path.join(process.cwd(), docName);
		fs.writeFileSync(docPath, docBody);
		const input = await a.$(`form[action="/cases/${caseId}/documents"] input[type=file]`);
		await input.uploadFile(docPath);
		const [up] = await Promise.all([
			a.waitForNavigation({ waitUntil: 'load' }),
			a.$eval(`form[action="/cases/${caseId}/documents"]`, (f) => f.requestSubmit()),
		]);
		const docHash = require('crypto').createHash('sha256').update(docBody).digest('hex');
		const docLink = await a.$eval(`a[href="/cases/${caseId}/documents/${docHash}"]`, (e) => e.textContent).catch(() => '');
		check('alice attaches a document through the form', up.status() === 200 && docLink === docName,
			up.status() + ' ' + docLink);
		check('...its name shown escaped', (await a.evaluate(() => document.querySelectorAll('main b, main i').length)) === 0);
		const jar = (await a.cookies()).map((c) => c.name + '=' + c.value).join('; ');
		const dl = await fetch(`${BASE}/cases/${caseId}/documents/${docHash}`, { headers: { cookie: jar } });
		const got = Buffer.from(await dl.arrayBuffer()).toString();
		check('the document downloads by its hash, the same bytes', dl.status === 200 && got === docBody,
			'status ' + dl.status + ', ' + got.length + ' bytes');
		check('...as an attachment, application/octet-stream, nosniff',
			/^attachment; filename="_b_doc_i_.html"; filename\*=UTF-8''%3Cb%3Edoc%3Ci%3E.html$/.test(dl.headers.get('content-disposition') || '') &&
			dl.headers.get('content-type') === 'application/octet-stream' &&
			dl.headers.get('x-content-type-options') === 'nosniff',
			`${dl.headers.get('content-type')} | ${dl.headers.get('content-disposition')}`);
		const dl2 = await fetch(`${BASE}/cases/${caseId}/documents/${'0'.repeat(64)}`, { headers: { cookie: jar } });
		check('a hash the case does not hold is 404', dl2.status === 404, 'status ' + dl2.status);
		const dl3 = await fetch(`${BASE}/cases/${caseId}/documents/${docHash}`, { redirect: 'manual' });
		check('no download without a session: to sign-in', dl3.status === 303, 'status ' + dl3.status);
		await shots(a, 'case');
		r = await submit(a, `form[action="/cases/${caseId}/search"]`, { '#q': 'notmuch <b>x</b>' });
		check('a mail search with markup in the query is answered', r.status() === 200 || r.status() === 400, 'status ' + r.status());
		check('...and the query is shown escaped', (await a.evaluate(() => document.querySelectorAll('main b').length)) === 0);
		await go(a, `/cases/${caseId}`);
		r = await submit(a, `form[action="/cases/${caseId}/search"]`, { '#q': 'notmuch' });
		const hits = await a.$eval('#hits', (e) => e.textContent).catch(() => '');
		check('alice searches the mail of the case', r.status() === 200 && /^[1-9]\d* hits/.test(hits), hits);
		check('hits are highlighted', (await a.$$('main mark')).length > 0);
		await shots(a, 'search');
		check('the results page offers to export the same query',
			(await a.$eval(`form[action="/cases/${caseId}/export"] #xq`, (e) => e.value).catch(() => '')) === 'notmuch');
		const mhref = await a.$eval('#hits ~ div a[href*="/messages/"]', (e) => e.getAttribute('href')).catch(() => '');
		if (mhref) {
			r = await go(a, mhref);
			check('a message of the hit list opens, its text shown', r.status() === 200 &&
				(await a.$$('main pre')).length === 1, 'status ' + r.status());
			await shots(a, 'message');
			await axeCheck(browser, cookiesA, mhref, 'message');
			await go(a, `/cases/${caseId}`);
			r = await submit(a, `form[action="/cases/${caseId}/search"]`, { '#q': 'notmuch' });
		} else {
			check('hits link to their messages', false, 'no link');
		}
		r = await submit(a, `form[action="/cases/${caseId}/tag"]`, { '#tag': 'relevant' });
		check('alice tags the hits', r.status() === 200 && /[1-9]\d* messages newly tagged/.test(await a.content()));
		// the mail export: the hits of the search's query, from the results page
		// as its form posts it, one tar archive (the script unpacks it and checks
		// its hashes with sha256sum)
		{
			const jar = (await a.cookies()).map((c) => c.name + '=' + c.value).join('; ');
			const post = (body) => fetch(`${BASE}/cases/${caseId}/export`, { method: 'POST', headers: { cookie: jar,
				origin: BASE, 'content-type': 'application/x-www-form-urlencoded' }, body });
			const ex = await post('csrf=' + await csrfOf(a) + '&q=notmuch');
			const tar = Buffer.from(await ex.arrayBuffer());
			fs.writeFileSync('web-mail-export.tar', tar);
			check('alice downloads the mail export of the case as one tar archive', ex.status === 200 &&
				ex.headers.get('content-type') === 'application/x-tar' &&
				ex.headers.get('content-disposition') === `attachment; filename="probity-mail-case-${caseId}.tar"` &&
				ex.headers.get('x-content-type-options') === 'nosniff' &&
				tar.length % 512 === 0 && tar.subarray(257, 262).toString() === 'ustar',
				ex.status + ' ' + ex.headers.get('content-disposition') + ' ' + tar.length);
			const ex2 = await post('csrf=' + '0'.repeat(64) + '&q=notmuch');
			check('...not without the form\'s token', ex2.status === 403, 'status ' + ex2.status);
			const ex3 = await post('csrf=' + await csrfOf(a) + '&q=' + encodeURIComponent('(unclosed <b>'));
			const body3 = await ex3.text();
			check('...a bad query is 400, shown escaped', ex3.status === 400 && !body3.includes('<b>'),
				ex3.status + ' ' + body3.slice(0, 200));
		}
		await go(a, `/cases/${caseId}`);
		check('the case page has the export form', (await a.$$(`form[action="/cases/${caseId}/export"]`)).length === 1);
		await a.$eval(`form[action="/cases/${caseId}/export"]`, (f) => f.scrollIntoView());
		await shots(a, 'mail-export');
		await go(a, `/cases/${caseId}`);
		await axeCheck(browser, cookiesA, `/cases/${caseId}`, 'case page');

		// CSRF: none, wrong
		// connect-src 'self': the page may post to its own site (the plan form's
		// check as you type), nowhere else
		check('the page can fetch nothing from elsewhere (CSP)', await a.evaluate(() =>
			fetch('http://127.0.0.2:9/').then(() => false, () => true)));
		const cspEvents = await a.evaluate(() => new Promise((res) => {
			document.addEventListener('securitypolicyviolation', (e) => res(e.violatedDirective));
			fetch('http://127.0.0.2:9/').catch(() => {});
			setTimeout(() => res(''), 2000);
		}));
		check('...refused by the CSP itself', cspEvents === 'connect-src', cspEvents);
		let st = await postFrom(a, `/cases/${caseId}/note`, 'text=sneaky');
		check('a POST without a CSRF token is 403', st === 403, 'status ' + st);
		st = await postFrom(a, `/cases/${caseId}/note`, 'text=sneaky&csrf=' + '0'.repeat(64));
		check('a POST with a wrong CSRF token is 403', st === 403, 'status ' + st);
		// invalid UTF-8 in a form: refused cleanly, no page error
		await go(a, `/cases/${caseId}`);
		const tok = await csrfOf(a);
		st = await postFrom(a, `/cases/${caseId}/note`, 'csrf=' + tok + '&text=bad%FF%FEbytes');
		check('a note that is not UTF-8 is refused with 400', st === 400, 'status ' + st);
		// invalid UTF-8 and markup in the path and query, shown escaped
		r = await go(a, '/customers/%FF%3Cb%3Ex%3C%2Fb%3E');
		check('a bad customer name in the path is 404', r.status() === 404, 'status ' + r.status());
		check('...and shown escaped', (await a.evaluate(() => document.querySelectorAll('main b').length)) === 0 &&
			(await a.content()).includes('\ufffd'));
		r = await go(a, '/cases?status=%3Cscript%3Ealert(3)%3C/script%3E');
		check('a bad query value is 400, nothing run', r.status() === 400);

		// scans: a shipped policy over every customer, explained; a finding's
		// citations (a log entry), "verify evidence", the finding added to the case
		r = await go(a, '/scans');
		check('alice reaches the scans page', r.status() === 200 && (await a.$$('#policy option')).length >= 3);
		await shots(a, 'scans');
		await axeCheck(browser, cookiesA, '/scans', 'scans');
		await a.select('#policy', 'no-mass-surveillance.yaml');
		await a.$eval('input[name=explain]', (e) => { e.checked = true; });
		await a.setBypassCSP(true); // for axe on the answers to the POSTs below
		r = await submit(a, 'form[action="/scans"]', {});
		await axeHere(a, 'scan result');
		const summary = await a.$eval('#scan-summary', (e) => e.textContent).catch(() => '');
		check('alice runs a scan over every customer', r.status() === 200 && /2 screened, 1 matched, 1 findings \(stored as scan \d+\)/.test(summary), summary);
		const main = await a.$eval('main', (m) => m.textContent);
		check('...with the indicators and the explain text of the customer no rule matched',
			main.includes('No rule matched') && /did not fire/.test(main) && main.includes('bulk-storage'));
		await shots(a, 'scan-result');
		const fhref = await a.$eval('a[href^="/findings/"]', (e) => e.getAttribute('href')).catch(() => '');
		const fid = fhref.replace('/findings/', '');
		r = await go(a, fhref || '/findings/0');
		const cites = await a.$$eval('main table', (ts) => {
			const t = ts[ts.length - 1];
			return [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent));
		}).catch(() => []);
		check('the finding page lists its citations: source, SHA-256, line ranges', r.status() === 200 && cites.length > 0 &&
			cites.every((c) => c.length === 6 && /^[0-9a-f]{64}$/.test(c[3]) && /^\d+-\d+/.test(c[5])),
			JSON.stringify(cites.slice(0, 2)));
		check('...and says its view is a log entry', /This view is log entry \d+/.test(await a.$eval('main', (m) => m.textContent)));
		await shots(a, 'finding');
		await axeCheck(browser, cookiesA, fhref, 'finding');
		r = await submit(a, `form[action="/findings/${fid}/verify"]`, {});
		check('verify evidence: every figure recomputes', r.status() === 200 &&
			(await a.$eval('#verified', (e) => e.className + ' ' + e.textContent).catch(() => '')).startsWith('ok Evidence verified'));
		await axeHere(a, 'verified finding');
		await a.setBypassCSP(false);
		await shots(a, 'verify');
		await go(a, `/cases/${caseId}`);
		r = await submit(a, `form[action="/cases/${caseId}/finding"]`, { '#finding': 'F' + fid });
		check('alice adds the finding of the scan to the case', r.status() === 200 && (await a.content()).includes('case.finding'),
			'status ' + r.status());

		await go(a, `/cases/${caseId}`);
		r = await submit(a, `form[action="/cases/${caseId}/finding"]`, { '#finding': 'no-such-finding' });
		check('an unknown finding is 404', r.status() === 404, 'status ' + r.status());
		await go(a, `/cases/${caseId}`);
		r = await submit(a, `form[action="/cases/${caseId}/close"]`, { '#decision': 'no action: usage within contract' });
		check('alice closes the case', r.status() === 200 && (await a.$eval('#case-status', (e) => e.textContent)) === 'closed');

		// pages an analyst reads; admin she may not
		await go(a, '/customers');
		await shots(a, 'customers');
		await axeCheck(browser, cookiesA, '/customers', 'customers');
		r = await go(a, '/customers/' + encodeURIComponent(process.env.CUSTOMER));
		check('a customer profile with charts', r.status() === 200 && (await a.$$('main .chart svg')).length >= 1,
			'status ' + r.status());
		await shots(a, 'profile');
		await axeCheck(browser, cookiesA, '/customers/' + encodeURIComponent(process.env.CUSTOMER), 'profile');
		await go(a, '/log');
		await shots(a, 'log');
		{ // the export, as the page's form posts it: a tar archive the script verifies
			const jar = (await a.cookies()).map((c) => c.name + '=' + c.value).join('; ');
			const ex = await fetch(`${BASE}/log/export`, { method: 'POST', headers: { cookie: jar, origin: BASE,
				'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=' + await csrfOf(a) });
			const tar = Buffer.from(await ex.arrayBuffer());
			fs.writeFileSync('web-export.tar', tar);
			check('the log page downloads an export as a tar archive', ex.status === 200 &&
				ex.headers.get('content-type') === 'application/x-tar' &&
				/^attachment; filename="probity-log-\d+\.tar"$/.test(ex.headers.get('content-disposition') || '') &&
				tar.length % 512 === 0 && tar.subarray(257, 262).toString() === 'ustar',
				ex.status + ' ' + ex.headers.get('content-disposition') + ' ' + tar.length);
			const ex2 = await fetch(`${BASE}/log/export`, { method: 'POST', headers: { cookie: jar, origin: BASE,
				'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=' + '0'.repeat(64) });
			check('...not without the form\'s token', ex2.status === 403, 'status ' + ex2.status);
		}
		await axeCheck(browser, cookiesA, '/log', 'log');
		r = await go(a, '/log/1');
		check('a log entry by number', r.status() === 200 && (await a.content()).includes('Leaf hash'));
		await shots(a, 'log-entry');
		await go(a, '/cases');
		await shots(a, 'cases');
		await axeCheck(browser, cookiesA, '/cases', 'cases');
		await axeCheck(browser, cookiesA, '/', 'home');
		r = await go(a, '/admin/users');
		check('an analyst cannot reach admin pages', r.status() === 403, 'status ' + r.status());

		// sign out; the old cookie, stolen into another browser, is worthless
		await go(a, '/');
		const [so] = await Promise.all([a.waitForNavigation(), a.$eval('form[action="/signout"]', (f) => f.requestSubmit())]);
		check('sign-out lands on sign-in', a.url() === BASE + '/signin', a.url());
		const thief = await browser.createBrowserContext();
		const t = await newPage(thief);
		await t.setCookie({ ...sess, url: BASE });
		r = await go(t, '/');
		check('a stolen session cookie after sign-out fails', t.url() === BASE + '/signin', t.url());
		await thief.close();
		void so;

		// the auditor reads but cannot write
		const ctxU = await browser.createBrowserContext();
		const u = await newPage(ctxU);
		r = await signin(u, 'aud', PW.aud);
		check('the auditor signs in', u.url() === BASE + '/', u.url());
		r = await go(u, `/cases/${caseId}`);
		check('the auditor reads the case', r.status() === 200);
		check('...with no forms to change it', (await u.$$('main form')).length === 0);
		const ut = await csrfOf(u);
		st = await postFrom(u, '/cases', `csrf=${ut}&customer=${encodeURIComponent(process.env.CUSTOMER)}&title=t&trigger=t`);
		check('the auditor cannot open a case (403)', st === 403, 'status ' + st);
		st = await postFrom(u, `/cases/${caseId}/export`, `csrf=${await csrfOf(u)}&q=notmuch`);
		check('the auditor cannot export mail (403)', st === 403, 'status ' + st);
		r = await go(u, '/admin/users');
		check('the auditor cannot reach admin pages', r.status() === 403);
		r = await go(u, '/scans');
		check('the auditor sees the scans page without the form', r.status() === 200 && (await u.$$('main form')).length === 0);
		st = await postFrom(u, '/scans', `csrf=${await csrfOf(u)}&policy=no-mass-surveillance.yaml&text=&customer=&explain=`);
		check('the auditor cannot run a scan (403)', st === 403, 'status ' + st);
		r = await go(u, '/findings/1');
		check('the auditor reads a finding\'s citations', r.status() === 200 && (await u.$$('main code')).length > 0);
		await ctxU.close();

		// the admin
		const ctxR = await browser.createBrowserContext();
		const ad = await newPage(ctxR);
		await signin(ad, process.env.ROOT_NAME, PW.root);
		r = await go(ad, '/admin/users');
		check('the admin reaches the users page', r.status() === 200 && (await ad.content()).includes('alice'));
		await shots(ad, 'users');
		await axeCheck(browser, await ad.cookies(), '/admin/users', 'users');
		r = await submit(ad, 'form[action="/admin/users"]', { '#uname': 'carol', '#role': 'approver' });
		const link = await ad.$eval('#invite', (e) => e.textContent).catch(() => '');
		check('the admin adds a user and gets her enrolment link', r.status() === 200 && /\/enrol\?token=[0-9a-f]{64}$/.test(link), link);
		await ad.$eval('#iname', (e) => { e.value = 'carol'; });
		await ad.select('#nrole', 'auditor');
		const [rr] = await Promise.all([ad.waitForNavigation(), ad.click('button[value=role]')]);
		check('the admin changes a role', rr.status() === 200 && /carol<\/td><td>auditor/.test(await ad.content()), 'status ' + rr.status());
		// invitations: carol's link is pending (who, by whom, when; never the
		// token), the admin revokes it, and then it enrols nobody
		r = await go(ad, '/admin/users');
		const invites = await ad.$$eval('#invites tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)))
			.catch(() => []);
		const carolRow = invites.find((row) => row[0] === 'carol');
		check('the admin page lists carol\'s pending invitation, by whom and until when',
			carolRow && carolRow[1] === process.env.ROOT_NAME && /^\d{4}-\d\d-\d\dT/.test(carolRow[2]) &&
			/^\d{4}-\d\d-\d\dT/.test(carolRow[3]) && carolRow[3] > carolRow[2], JSON.stringify(invites));
		const token = link.replace(/.*token=/, '');
		const html = await ad.content();
		check('...never its token, nor the token\'s hash', token.length === 64 && !html.includes(token) &&
			!html.includes(require('crypto').createHash('sha256').update(token).digest('hex')));
		await ad.$eval('#invites', (e) => e.scrollIntoView());
		await shots(ad, 'invitations');
		await axeCheck(browser, await ad.cookies(), '/admin/users', 'users with a pending invitation');
		const [rv] = await Promise.all([ad.waitForNavigation({ waitUntil: 'load' }), ad.evaluate(() =>
			[...document.querySelectorAll('#invites form')].find((f) => f.querySelector('input[name=name]').value === 'carol')
				.requestSubmit())]);
		const left = await ad.$$eval('#invites tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent)).catch(() => []);
		check('the admin revokes it', rv.status() === 200 && ad.url() === BASE + '/admin/users' && !left.includes('carol'),
			rv.status() + ' ' + ad.url() + ' ' + JSON.stringify(left));
		await shots(ad, 'invitations-revoked');
		st = await postFrom(ad, '/admin/invite-revoke', `csrf=${await csrfOf(ad)}&name=carol`);
		check('...once: nothing is left to revoke (404)', st === 404, 'status ' + st);
		const ctxC = await browser.createBrowserContext();
		const cp = await newPage(ctxC);
		await cp.goto(link.replace(/^http:\/\/[^/]+/, BASE), { waitUntil: 'load' });
		const ce = await submit(cp, 'form[action="/enrol"]', { '#password': 'carol-password-1', '#again': 'carol-password-1' });
		check('the revoked link enrols nobody (403)', ce.status() === 403, 'status ' + ce.status());
		await ctxC.close();
		await ctxR.close();
		await ctxA.close();
	} catch (e) {
		fail('the browser run', e.stack || String(e));
	} finally {
		await browser.close();
	}
	check('screenshots written', shotsTaken.every((f) => fs.statSync(f).size > 1000), shotsTaken.join(' '));
	process.exit(failures() ? 1 : 0);
})();
