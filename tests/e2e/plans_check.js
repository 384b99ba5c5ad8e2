// plans_check.js - enforcement plans in Debian's headless chromium with
// puppeteer-core (tests/e2e/scripts/web-plans.sh starts the app and reads
// these lines): "ok WHAT" or "FAIL WHAT: why", one a check.
//
// env: NODE_PATH (puppeteer-core, axe-core), CHROMIUM, BASE
// (http://localhost:PORT), LINK_alice / LINK_bob / LINK_dana / LINK_erin
// (enrolment links), SHOTS (screenshot folder), PROBITY and WS (for decide).
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');
const { fail, check, newPage, go, submit, shots, shotsTaken, axeCheck, launch, failures } =
	require('./web_helpers');

const BASE = process.env.BASE;
const HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>\'"&';
// the demo customer's sub-accounts (tools/genfocus demo)
const SPEECH_SUB = 'b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316';

// Enrols through the link and signs in: a page of a new context.
async function user(browser, name) {
	const ctx = await browser.createBrowserContext();
	const page = await newPage(ctx);
	const pw = name + '-password-1';
	await page.goto(process.env['LINK_' + name].replace(/^http:\/\/[^/]+/, BASE), { waitUntil: 'load' });
	await submit(page, 'form[action="/enrol"]', { '#password': pw, '#again': pw });
	await go(page, '/signin');
	const r = await submit(page, 'form[action="/signin"]', { '#name': name, '#password': pw });
	check(`${name} enrols and signs in`, r.status() === 200 && page.url() === BASE + '/', page.url());
	return { ctx, page };
}

// A POST from the page's own session (fetch with its cookies and token).
async function post(page, p, fields) {
	const jar = (await page.cookies()).map((c) => c.name + '=' + c.value).join('; ');
	const csrf = await page.$eval('input[name=csrf]', (e) => e.value);
	return fetch(BASE + p, { method: 'POST', headers: { cookie: jar, origin: BASE,
		'content-type': 'application/x-www-form-urlencoded' },
	body: new URLSearchParams({ csrf, ...fields }).toString() });
}

function decide(sub, service) {
	try {
		return execFileSync(process.env.PROBITY, ['decide', process.env.WS, '--account', 'EA-880412',
			'--subaccount', sub, '--service', service, '--region', 'westeurope'],
		{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
	} catch (e) {
		return String(e.stdout || e).split('\n')[0];
	}
}

async function injected(page) {
	return page.evaluate(() => document.querySelectorAll('main img').length +
		[...document.querySelectorAll('script')].filter((x) => x.textContent.includes('alert(')).length);
}

(async () => {
	const browser = await launch();
	try {
		const D = await user(browser, 'dana'); // an approver drafts: she may then not approve
		const d = D.page;
		let r = await go(d, '/cases/1');
		const link = await d.$eval('a[href="/cases/1/plans/new"]', (e) => e.textContent).catch(() => '');
		check('the case page has a Plans part with a link to draft one', r.status() === 200 &&
			/Draft/.test(link) && (await d.$('#plans')) !== null, link);
		r = await go(d, '/cases/1/plans/new');
		check('the draft form opens', r.status() === 200 && (await d.$('#plan-form[data-sign]')) !== null);
		const helps = await d.$$eval('#plan-form .help', (ps) => ps.length);
		check('every field has its help text', helps === 8, helps + ' help texts');
		await axeCheck(browser, await d.cookies(), '/cases/1/plans/new', 'the draft form');

		// validation as you type: a bad selector, its error beside its field
		await d.type('#disable', 'service=nosuchservice ' + HOSTILE);
		await d.waitForFunction(() => !document.getElementById('disable-err').hidden, { timeout: 10000 }).catch(() => {});
		let msg = await d.$eval('#disable-err', (e) => (e.hidden ? '' : e.textContent));
		check('as you type, a bad selector shows the library\'s error beside its field', /unknown service/.test(msg), msg);
		check('...the field is marked invalid', await d.$eval('#disable', (e) => e.getAttribute('aria-invalid')) === 'true');
		check('...the hostile text shown as text, not run', (await injected(d)) === 0 && msg.includes('<img'), msg);
		r = await go(d, '/plans');
		check('checking saved nothing', r.status() === 200 && (await d.$$('#plans tbody tr')).length === 0);
		// on saving: 400 with the error beside the field
		await go(d, '/cases/1/plans/new');
		r = await submit(d, '#plan-form', { '#disable': 'service=nosuchservice ' + HOSTILE });
		msg = await d.$eval('#disable-err', (e) => (e.hidden ? '' : e.textContent)).catch(() => '');
		check('saving a bad draft is refused (400), the error beside its field', r.status() === 400 && /unknown service/.test(msg),
			r.status() + ' ' + msg);
		check('...escaped', (await injected(d)) === 0);
		check('...the text as typed is kept in the field', (await d.$eval('#disable', (e) => e.value)).includes('nosuchservice'));
		// a bad date beside a good selector: its own field is the one marked
		await go(d, '/cases/1/plans/new');
		await d.type('#disable', 'category=Storage');
		await d.type('#review_by', 'next tuesday');
		await d.waitForFunction(() => !document.getElementById('review_by-err').hidden, { timeout: 10000 }).catch(() => {});
		msg = await d.$eval('#review_by-err', (e) => (e.hidden ? '' : e.textContent));
		check('as you type, a bad review date shows its error beside its own field', /not a date/.test(msg) &&
			await d.$eval('#disable-err', (e) => e.hidden), msg);

		// a good draft: the dry run as typed, then saved
		await go(d, '/cases/1/plans/new');
		await d.type('#disable', 'category=Storage country=NL\ncapability=speech-to-text,translation');
		await d.type('#keep', 'category=Security\ncountry=DE');
		await d.waitForFunction(() => document.getElementById('plan-check').className === 'ok', { timeout: 10000 }).catch(() => {});
		const sum = await d.$eval('#plan-check', (e) => e.textContent);
		check('as you type, a good draft shows its dry run (nothing saved)', /Dry run.*usage rows of \d{4}-\d\d are cut/.test(sum) &&
			/keep 2 matches nothing/.test(sum), sum);
		r = await submit(d, '#plan-form');
		check('dana saves the draft: the plan page', r.status() === 200 && d.url() === BASE + '/plans/1', r.status() + ' ' + d.url());
		const cut = await d.$$eval('#dry-cut tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
		check('the dry run lists what it cuts: account, sub-account, service, capability, region, quantity, cost, share',
			cut.length >= 3 && cut.some((c) => c[0] === 'EA-880412' && c[1] === SPEECH_SUB && c[2] === 'Azure AI Services' &&
				c[3] === 'speech-to-text' && c[4] === 'westeurope' && /Hours$/.test(c[5]) && /EUR$/.test(c[6]) && /%$/.test(c[7]) &&
				c[8] === 'disable 2'), JSON.stringify(cut).slice(0, 400));
		const kept = await d.$$eval('#dry-kept tbody tr', (trs) => trs.map((tr) => tr.cells[2].textContent));
		check('...what stays on', kept.includes('Microsoft Defender for Cloud'), JSON.stringify(kept));
		check('...selectors that match nothing', (await d.$eval('#dry-nothing', (e) => e.textContent)).includes('keep 2: country=DE'));
		const hash0 = await d.$eval('#plan-hash', (e) => e.textContent);
		check('the plan page shows its hash', /^[0-9a-f]{64}$/.test(hash0), hash0);
		// a change of the draft: the form comes filled in, the hash changes
		r = await go(d, '/plans/1/edit');
		check('the change form holds the plan\'s terms', r.status() === 200 &&
			(await d.$eval('#disable', (e) => e.value)).includes('category=Storage country=NL') &&
			(await d.$eval('#keep', (e) => e.value)).includes('country=DE'));
		// a review date after the plan takes effect (now), whatever the day
		const review = new Date(Date.now() + 90 * 864e5).toISOString().slice(0, 10);
		r = await submit(d, '#plan-form', { '#review_by': review });
		const hash = await d.$eval('#plan-hash', (e) => e.textContent).catch(() => '');
		check('dana changes the draft: a new hash, revision 2', r.status() === 200 && d.url() === BASE + '/plans/1' &&
			/^[0-9a-f]{64}$/.test(hash) && hash !== hash0 && (await d.content()).includes(review), r.status() + ' ' + hash);
		check('the author sees no approve button', (await d.$('form[action="/plans/1/approve"]')) === null);
		const writes = await d.$$eval('main form[method=post]', (fs) => fs.filter((f) => !f.hasAttribute('data-sign')).length);
		check('every writing form carries data-sign', writes === 0, writes + ' without');
		await shots(d, 'plan-before-approval');
		await axeCheck(browser, await d.cookies(), '/plans/1', 'the plan page');

		// two approvers approve in the browser; the author's approval is refused
		const B = await user(browser, 'bob');
		const b = B.page;
		r = await go(b, '/');
		check('the plan waits on bob\'s home page', (await b.content()).includes('<td>1</td><td><a href="/cases/1">1</a></td>'));
		await go(b, '/plans/1');
		r = await submit(b, 'form[action="/plans/1/approve"]', { '#comment': 'supported by the evidence ' + HOSTILE });
		check('bob approves', r.status() === 200 && (await b.$eval('#approvals', (e) => e.textContent)).startsWith('1 of 2'),
			r.status() + ' ' + (await b.$eval('#approvals', (e) => e.textContent).catch(() => '')));
		const votes = await b.$$eval('#votes tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
		check('the approval shows who, when, its log entry and its signature state', votes.length === 1 && votes[0][0] === 'approve' &&
			votes[0][1] === 'bob' && /^\d{4}-\d\d-\d\dT/.test(votes[0][2]) && /^\d+$/.test(votes[0][3]) &&
			votes[0][6] === 'none' && votes[0][8] === 'unsigned workspace', JSON.stringify(votes));
		check('...its comment escaped', (await injected(b)) === 0 && votes[0][5].includes('<img'));
		check('...its entry links to the log', (await b.$(`#votes a[href="/log/${votes[0] && votes[0][3]}"]`)) !== null);
		await b.$eval('#approvals-h', (x) => x.scrollIntoView());
		await shots(b, 'plan-one-approval');
		await go(d, '/plans/1');
		const dr = await post(d, '/plans/1/approve', { sha256: hash, text: '' });
		const dbody = await dr.text();
		check('the author\'s approval is refused (403)', dr.status === 403 && /author/.test(dbody), dr.status + ' ' + dbody.slice(-300));
		const E = await user(browser, 'erin');
		const e = E.page;
		await go(e, '/plans/1');
		r = await submit(e, 'form[action="/plans/1/approve"]');
		check('erin approves: 2 of 2', r.status() === 200 && (await e.$eval('#approvals', (x) => x.textContent)).startsWith('2 of 2'));
		check('...ready to apply', /ready to apply/.test(await e.$eval('#plan-state', (x) => x.textContent)));
		await e.$eval('#approvals-h', (x) => x.scrollIntoView());
		await shots(e, 'plan-two-approvals');

		// apply, decide, the notice in three formats
		const A = await user(browser, 'alice');
		const a = A.page;
		check('before apply, decide allows', decide(SPEECH_SUB, 'Azure AI Services') === 'allow');
		await go(a, '/plans/1');
		r = await submit(a, 'form[action="/plans/1/apply"]');
		const ver = await a.$eval('#plan-version', (x) => x.textContent).catch(() => '');
		check('alice applies: the entitlements version on the plan page', r.status() === 200 && /^1 \(in force from /.test(ver), ver);
		check('probity decide now denies speech-to-text', decide(SPEECH_SUB, 'Azure AI Services') === 'deny');
		check('the notice is previewed on the page', (await a.$eval('#notice', (x) => x.textContent)).includes('Varnia Interior Ministry'));
		for (const [fmt, ext, type, has] of [['text', 'txt', 'text/plain', 'Notice of service restriction'],
			['markdown', 'md', 'text/markdown', '# '], ['html', 'html', 'text/html', '<html']]) {
			const nr = await post(a, '/plans/1/notice', { format: fmt });
			const body = await nr.text();
			check(`the notice downloads as ${fmt}, an attachment`, nr.status === 200 &&
				(nr.headers.get('content-type') || '').startsWith(type) &&
				nr.headers.get('content-disposition') === `attachment; filename="notice-plan-1.${ext}"` &&
				body.includes(has) && body.includes('Varnia Interior Ministry') && !body.includes('DRAFT'),
			nr.status + ' ' + nr.headers.get('content-disposition'));
		}
		const pr = await fetch(`${BASE}/plans/1/notice?format=html`, { headers: { cookie: (await a.cookies()).map((c) => c.name + '=' + c.value).join('; ') } });
		const pbody = await pr.text();
		check('the preview downloads too, marked DRAFT', pr.status === 200 && pbody.includes('DRAFT') &&
			pr.headers.get('content-disposition') === 'attachment; filename="notice-plan-1-draft.html"', pr.status);

		// roll back: two approvers ask
		await go(b, '/plans/1');
		r = await submit(b, 'form[action="/plans/1/rollback"]', { '#rollback-reason': 'appeal upheld' });
		check('bob asks for the rollback', r.status() === 200 && decide(SPEECH_SUB, 'Azure AI Services') === 'deny');
		await go(e, '/plans/1');
		r = await submit(e, 'form[action="/plans/1/rollback"]', { '#rollback-reason': 'appeal upheld' });
		const state = await e.$eval('#plan-state', (x) => x.textContent).catch(() => '');
		check('erin rolls it back', r.status() === 200 && /rolled back/.test(state), state);
		check('decide allows again', decide(SPEECH_SUB, 'Azure AI Services') === 'allow');
		r = await go(e, '/plans');
		const rows = await e.$$eval('#plans tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
		check('/plans lists it: number, case, customer, state, author, approvals, version', rows.length === 1 &&
			rows[0][0] === '1' && rows[0][1] === '1' && rows[0][2] === 'Varnia Interior Ministry' && rows[0][4] === 'dana' &&
			rows[0][5] === '2/2' && rows[0][6] === '1', JSON.stringify(rows));
		await axeCheck(browser, await e.cookies(), '/plans', 'the plans list');

		// another draft: refused with a reason, then withdrawn
		await go(a, '/cases/1/plans/new');
		r = await submit(a, '#plan-form', { '#disable': 'capability=translation' });
		check('alice drafts plan 2', r.status() === 200 && a.url() === BASE + '/plans/2', a.url());
		await go(b, '/plans/2');
		r = await submit(b, 'form[action="/plans/2/refuse"]', { '#refuse-reason': 'not proportionate ' + HOSTILE });
		const st2 = await b.$eval('#plan-state', (x) => x.textContent).catch(() => '');
		check('bob refuses it with a reason', r.status() === 200 && /refused by bob/.test(st2) &&
			(await b.$eval('#votes', (x) => x.textContent)).includes('not proportionate <img'), st2);
		check('...escaped', (await injected(b)) === 0);
		await go(a, '/plans/2');
		check('a refused plan offers no apply', (await a.$('form[action="/plans/2/apply"]')) === null);
		r = await submit(a, 'form[action="/plans/2/withdraw"]', { '#withdraw-reason': 'superseded' });
		const st3 = await a.$eval('#plan-state', (x) => x.textContent).catch(() => '');
		check('alice withdraws it', r.status() === 200 && /withdrawn/.test(st3) &&
			(await a.$('form[action="/plans/2/approve"], form[action="/plans/2/withdraw"]')) === null, st3);
		for (const x of [A, B, D, E]) await x.ctx.close();
	} catch (err) {
		fail('the browser run', err.stack || String(err));
	} finally {
		await browser.close();
	}
	check('screenshots written', shotsTaken.length === 6 && shotsTaken.every((f) => fs.statSync(f).size > 1000), shotsTaken.join(' '));
	process.exit(failures() ? 1 : 0);
})();
