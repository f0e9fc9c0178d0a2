/**
 * Debian's Chromium driven by playwright-core, for the browser e2e tests and the screenshots
 * (scripts/screenshots.ts). No browser download: `apt-get install chromium`, or CHROMIUM_PATH for
 * another Chromium/Chrome. The flags keep Chromium off the network (this machine has none besides
 * loopback: background services would only fail) and work as root.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
	if (!existsSync(CHROMIUM_PATH))
		throw new Error(
			`No Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install chromium) or set CHROMIUM_PATH`,
		);
	return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
}

/** A browser context logged in to n8n as `owner` (n8n's own login call; the cookie stays in the context). */
export async function n8nSession(
	browser: Browser,
	baseUrl: string,
	owner: { email: string; password: string },
	viewport = { width: 1440, height: 900 },
): Promise<BrowserContext> {
	const context = await browser.newContext({ viewport, baseURL: baseUrl });
	const login = await context.request.post('/rest/login', {
		data: { emailOrLdapLoginId: owner.email, password: owner.password },
	});
	if (!login.ok()) throw new Error(`n8n login failed: ${login.status()}`);
	return context;
}
