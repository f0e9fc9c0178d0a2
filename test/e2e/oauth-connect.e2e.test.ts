/**
 * pretix OAuth2 "Connect my account" in a real browser, against the demo's set-up: the demo services
 * (scripts/demo.ts: the fake pretix with the test-only `allowHttpRedirectUris: 'localhost'` policy)
 * and the templates' credentials (scripts/template-credentials.ts), with n8n's own callback URL
 * registered on the fake's OAuth application as `npm start -- --demo` does (registerOAuthCallback).
 * Debian's Chromium (test/harness/browser.ts) opens the credential in n8n's editor, clicks Connect;
 * the popup goes to the fake pretix's authorize endpoint and back to n8n's callback; the editor says
 * "Account connected"; then a workflow's Pretix Orders node calls pretix with the token n8n got.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { templateCredentials } from '../../scripts/template-credentials';
import { launchChromium, n8nSession } from '../harness/browser';
import { N8nInstance, OWNER, runData } from '../harness/n8n';

const PKG = 'n8n-nodes-pretix-matrix';
const OAUTH_CREDENTIAL = 'pretixOAuth2Credential';
const ORDERS_WF = 'OAuthConnectWf01';
const WEBHOOK_PATH = 'oauth-connect-organizers';

let services: DemoServices;
let n8n: N8nInstance;
let browser: Browser;
let context: BrowserContext;
let callback: string;

function ordersWorkflow() {
	return {
		id: ORDERS_WF,
		name: 'pretix organizers via OAuth2',
		nodes: [
			{
				id: 'webhook',
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: '7e6d5c4b-3a29-4180-b6f5-e4d3c2b1a098',
				parameters: {
					httpMethod: 'POST',
					path: WEBHOOK_PATH,
					responseMode: 'onReceived',
					options: {},
				},
			},
			{
				id: 'organizers',
				name: 'Organizers',
				type: `${PKG}.pretixOrders`,
				typeVersion: 1,
				position: [220, 0],
				parameters: {
					authentication: 'pretixOAuth2Api',
					resource: 'organizer',
					operation: 'getMany',
				},
				credentials: { pretixOAuth2Api: { id: OAUTH_CREDENTIAL, name: 'pretix OAuth2' } },
			},
		],
		connections: { Webhook: { main: [[{ node: 'Organizers', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

/** The credential's edit dialog, opened by its URL; returns its "Connect" button (not connected yet). */
async function openCredential(page: Page) {
	await page.goto(`/home/credentials/${OAUTH_CREDENTIAL}`);
	const connect = page
		.locator('[data-test-id="oauth-not-connected-banner"]')
		.getByRole('button', { name: 'Connect' });
	await connect.waitFor({ timeout: 60_000 });
	return connect;
}

beforeAll(async () => {
	services = await startDemoServices();
	n8n = await N8nInstance.start({
		label: 'oauth-connect',
		credentials: templateCredentials(services),
		workflows: [ordersWorkflow()],
		publish: [ORDERS_WF],
	});
	callback = services.registerOAuthCallback(n8n.baseUrl);
	browser = await launchChromium();
	context = await n8nSession(browser, n8n.baseUrl, OWNER);
});

afterAll(async () => {
	await context?.close();
	await browser?.close();
	await n8n?.destroy();
	await services?.stop();
});

test('Connect: authorize at pretix → n8n callback → "Account connected" → pretix answers with the token', async () => {
	const tokensBefore = new Set(services.pretix.accessTokens.keys());
	const page = await context.newPage();
	const connect = await openCredential(page);

	const popupPromise = page.waitForEvent('popup');
	await connect.click();
	const popup = await popupPromise;
	// n8n's callback page closes the popup once it has the token.
	await popup.waitForEvent('close', { timeout: 60_000 });

	const banner = page.locator('[data-test-id="oauth-connect-success-banner"]');
	await banner.waitFor({ timeout: 30_000 });
	expect(await banner.innerText()).toContain('Account connected');

	// The popup asked pretix for a code for exactly n8n's callback, and n8n exchanged it for a token.
	const authorize = services.pretix.requests.filter((r) => r.path === '/api/v1/oauth/authorize');
	expect(authorize).toHaveLength(1);
	expect(authorize[0]).toMatchObject({ method: 'GET', status: 302 });
	expect(authorize[0].query.redirect_uri).toEqual([callback]);
	expect(callback).toBe(`${n8n.baseUrl}/rest/oauth2-credential/callback`);
	const exchange = services.pretix.requests.filter((r) => r.path === '/api/v1/oauth/token');
	expect(exchange).toEqual([
		expect.objectContaining({ method: 'POST', auth: 'basic', status: 200 }),
	]);
	const issued = [...services.pretix.accessTokens.values()].filter(
		(t) => !tokensBefore.has(t.token),
	);
	expect(issued).toEqual([
		expect.objectContaining({ clientId: services.pretixOAuthClient.clientId }),
	]);
	await page.close();

	// A pretix call with that token: the published workflow's Pretix Orders node on the credential.
	const before = services.pretix.requests.length;
	const response = await fetch(n8n.webhookUrl(WEBHOOK_PATH), {
		method: 'POST',
		body: '{}',
		headers: { 'content-type': 'application/json' },
	});
	expect(response.status).toBe(200);
	const [execution] = await n8n.waitForExecutions(ORDERS_WF, 1);
	expect(execution.status).toBe('success');
	const slugs = runData(execution, 'Organizers').map((item) => item.slug);
	expect(slugs).toContain('exampleorg');
	const calls = services.pretix.requests
		.slice(before)
		.filter((r) => r.path === '/api/v1/organizers/');
	expect(calls.length).toBeGreaterThan(0);
	expect(calls.every((r) => r.auth === 'bearer' && r.status === 200)).toBe(true);
});
