/**
 * Credentials never leave their host, through n8n's real request helper (n8n-core
 * httpRequestWithAuthentication): a pretix or homeserver that answers with a redirect to another
 * origin gets the run failed with a clear error, and the other origin sees no request at all (no
 * token, no body). Redirects within the origin still work, signed again at every hop.
 */
import type { IDataObject } from 'n8n-workflow';

import {
	FAKE_OAUTH_CLIENT,
	FAKE_TEAM_TOKEN,
	startFakePretix,
	type FakePretix,
	type StartedFakePretix,
} from '../fakes/pretix';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { runWorkflow, wf } from '../harness/engine';
import { startFront, startOtherOrigin, type Server } from '../unit/http/redirect-servers';

let pretix: StartedFakePretix & FakePretix;
let hs: FakeHomeserver;
let other: Server;
const fronts: Server[] = [];

beforeEach(async () => {
	pretix = await startFakePretix();
	hs = await startFakeHomeserver({ rateLimits: false });
	other = await startOtherOrigin();
});
afterEach(async () => {
	for (const front of fronts.splice(0)) await front.stop();
	await other.stop();
	await hs.stop();
	await pretix.stop();
});

async function front(
	service: string,
	redirects: Parameters<typeof startFront>[1],
): Promise<Server> {
	const started = await startFront(service, redirects);
	fronts.push(started);
	return started;
}

const orders = (auth: 'pretixApi' | 'pretixOAuth2Api') =>
	wf([
		{
			name: 'Orders',
			type: 'pretixOrders',
			parameters: {
				authentication: auth,
				resource: 'attendee',
				operation: 'getMany',
				eventBy: 'slugs',
				organizer: 'exampleorg',
				event: 'summit26',
			},
			credentials: [auth],
		},
	]);

describe('pretix', () => {
	test.each([307, 308, 302, 301] as const)(
		'team token: a %i to another origin fails clearly and the other origin sees nothing',
		async (status) => {
			const evil = await front(pretix.url, [
				{ match: /^\/api\//, status, to: (path) => `${other.url}${path}` },
			]);
			const run = await runWorkflow({
				workflow: orders('pretixApi'),
				credentials: { pretixApi: { url: evil.url, apiToken: FAKE_TEAM_TOKEN } },
			});
			expect(run.status).toBe('error');
			expect(run.error?.message).toContain(
				`pretix rejected the request (${status}): The server redirected the request to another address (${status}); credentials are never sent there`,
			);
			expect(run.error?.message).not.toContain(FAKE_TEAM_TOKEN);
			expect(other.requests).toEqual([]);
			// The front itself did get the token: it is the configured pretix.
			expect(evil.requests[0].authorization).toBe(`Token ${FAKE_TEAM_TOKEN}`);
		},
	);

	test('OAuth2: a redirect to another origin takes no Bearer token along', async () => {
		const evil = await front(pretix.url, [
			{ match: /^\/api\//, status: 307, to: (path) => `${other.url}${path}` },
		]);
		const token = pretix.issueOAuthToken();
		const credentials = {
			pretixOAuth2Api: {
				url: evil.url,
				clientId: FAKE_OAUTH_CLIENT.clientId,
				clientSecret: FAKE_OAUTH_CLIENT.clientSecret,
				oauthTokenData: {
					access_token: token.access_token,
					refresh_token: token.refresh_token,
					token_type: 'Bearer',
					expires_in: 86400,
					scope: 'read',
				},
			},
		};
		const run = await runWorkflow({ workflow: orders('pretixOAuth2Api'), credentials });
		expect(run.status).toBe('error');
		expect(run.error?.message).toMatch(/redirected the request to another address/);
		expect(other.requests).toEqual([]);
		expect(evil.requests[0].authorization).toBe(`Bearer ${token.access_token}`);
	});

	test('a redirect within the origin is followed and signed again; the run succeeds', async () => {
		const moved = await front(pretix.url, [
			{ match: /^\/api\//, status: 308, to: (path) => `/moved${path}` },
		]);
		const run = await runWorkflow({
			workflow: orders('pretixApi'),
			credentials: { pretixApi: { url: moved.url, apiToken: FAKE_TEAM_TOKEN } },
		});
		expect(run.status).toBe('success');
		expect(run.output('Orders')).toHaveLength(15);
		const hops = moved.requests.filter((r) => r.path.startsWith('/moved/api/'));
		expect(hops.length).toBeGreaterThan(0);
		expect(hops.every((r) => r.authorization === `Token ${FAKE_TEAM_TOKEN}`)).toBe(true);
		expect(other.requests).toEqual([]);
	});
});

describe('homeserver', () => {
	const notice = (room: string) =>
		wf([
			{
				name: 'Matrix',
				type: 'matrixInvite',
				parameters: { operation: 'message', room, text: 'Invited: 3' } as IDataObject as never,
				credentials: ['matrixBotApi'],
			},
		]);

	test('a 307 of the send to another origin: the notice is not posted there, the token and text stay home', async () => {
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const evil = await front(hs.url, [
			{ match: /\/send\//, status: 307, to: (path) => `${other.url}${path}` },
		]);
		const run = await runWorkflow({
			workflow: notice(roomId),
			credentials: {
				matrixBotApi: {
					homeserverUrl: evil.url,
					authMode: 'accessToken',
					accessToken: bot.accessToken,
				},
			},
		});
		expect(run.status).toBe('success');
		expect(run.output('Matrix')[0].matrix).toMatchObject({
			operation: 'message',
			status: 'gaveUp',
			reason: 'http307',
		});
		expect(other.requests).toEqual([]);
		expect(hs.timeline(roomId, 'm.room.message')).toEqual([]);
		expect(JSON.stringify(run.output('Matrix'))).not.toContain(bot.accessToken);
	});

	test('a 308 within the origin: the notice is posted once, the bearer token went only to the homeserver', async () => {
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const moved = await front(hs.url, [
			{
				match: /^\/_matrix\/client\/v3\/rooms\/[^/]+\/send\//,
				status: 308,
				to: (path) => `/moved${path}`,
			},
		]);
		const run = await runWorkflow({
			workflow: notice(roomId),
			credentials: {
				matrixBotApi: {
					homeserverUrl: moved.url,
					authMode: 'accessToken',
					accessToken: bot.accessToken,
				},
			},
		});
		expect(run.output('Matrix')[0].matrix).toMatchObject({ status: 'sent', roomId });
		expect(hs.timeline(roomId, 'm.room.message').map((e) => e.content.body)).toEqual([
			'Invited: 3',
		]);
		const hop = moved.requests.find((r) => r.path.startsWith('/moved/'))!;
		expect(hop).toMatchObject({ method: 'PUT', authorization: `Bearer ${bot.accessToken}` });
		expect(JSON.parse(hop.body)).toMatchObject({ body: 'Invited: 3' });
		expect(other.requests).toEqual([]);
	});
});
