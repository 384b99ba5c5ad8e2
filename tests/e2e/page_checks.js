// page_checks.js - what the puppeteer scripts of tests/e2e share.
'use strict';
const puppeteer = require('puppeteer-core');

// Debian's chromium (CHROMIUM), headless, with browser.sh's flags keeping it
// off the network.
function launch() {
	return puppeteer.launch({
		executablePath: process.env.CHROMIUM, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
}

// axe-core's serious and critical violations of the page as it is ("id
// (nodes)" each); the page must have been loaded with setBypassCSP(true).
async function axeViolations(page) {
	await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
	return page.evaluate(async () => {
		const r = await window.axe.run(document, { resultTypes: ['violations'] });
		return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => v.id + ' (' + v.nodes.length + ')');
	});
}

module.exports = { axeViolations, launch };
