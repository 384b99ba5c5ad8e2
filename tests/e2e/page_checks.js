// page_checks.js - what the puppeteer scripts of tests/e2e share.
'use strict';

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

module.exports = { axeViolations };
