// web_helpers.js - what the puppeteer-core drivers of probity web share
// (web_check.js, plans_check.js): the "ok WHAT" / "FAIL WHAT: why" lines the
// e2e scripts read, pages, form submission, screenshots at 1280x800 and
// 390x844 (SHOTS), axe-core, and the browser's launch with the flags of
// tests/e2e/browser.sh.
//
// env: NODE_PATH (puppeteer-core, axe-core), CHROMIUM, BASE, SHOTS.
'use strict';
const { axeViolations, launch } = require('./page_checks.js');
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
	const res = await axeViolations(page);
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

module.exports = { ok, fail, check, newPage, go, submit, shots, shotsTaken, axeCheck, axeHere, launch,
	failures: () => failed };
