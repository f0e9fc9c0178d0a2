/**
 * Redirects and credentials outside n8n: the fetch transport (used by the listener's REST calls,
 * the harness and the benchmarks) and the fetch handed to matrix-js-sdk follow redirects only
 * within the origin; another origin never sees the token or the body.
 */
import { decideRedirect, methodAfterRedirect } from '../../../lib/http/redirect';
import { fetchTransport, sameOriginFetch } from '../../../lib/http/fetch-transport';
import { CommandListener } from '../../../lib/matrix/listener';
import { MatrixClient } from '../../../lib/matrix/client';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';
import { startFront, startOtherOrigin, type Server } from './redirect-servers';

describe('which redirects are followed', () => {
	test.each([
		['https://hs.example.org/a', '/b', 'https://hs.example.org/b'],
		['https://hs.example.org/a/b', 'c?x=1', 'https://hs.example.org/a/c?x=1'],
		[
			'https://hs.example.org:8448/a',
			'https://hs.example.org:8448/b',
			'https://hs.example.org:8448/b',
		],
		['http://hs.example.org/a', 'https://hs.example.org/a', 'https://hs.example.org/a'],
	])('%s → %s is followed', (from, location, url) => {
		expect(decideRedirect(from, location)).toEqual({ follow: true, url });
	});

	test.each([
		['https://hs.example.org/a', 'https://evil.example.net/a'],
		['https://hs.example.org/a', 'https://matrix.hs.example.org/a'], // a subdomain is another origin
		['https://hs.example.org/a', 'https://hs.example.org:8443/a'],
		['https://hs.example.org/a', 'http://hs.example.org/a'], // downgrade
		['http://hs.example.org:8008/a', 'https://hs.example.org:8448/a'],
		['https://hs.example.org/a', '//evil.example.net/a'],
	])('%s → %s is not', (from, location) => {
		expect(decideRedirect(from, location)).toEqual({ follow: false, reason: 'crossOrigin' });
	});

	test('no usable Location is not followed', () => {
		expect(decideRedirect('https://hs.example.org/a', undefined)).toEqual({
			follow: false,
			reason: 'noLocation',
		});
		expect(decideRedirect('https://hs.example.org/a', 'http://[bad')).toEqual({
			follow: false,
			reason: 'noLocation',
		});
	});

	test('303, and 301/302 after POST, continue as GET without the body; 307/308 keep both', () => {
		expect(methodAfterRedirect(303, 'PUT')).toEqual({ method: 'GET', keepBody: false });
		expect(methodAfterRedirect(302, 'POST')).toEqual({ method: 'GET', keepBody: false });
		expect(methodAfterRedirect(301, 'PUT')).toEqual({ method: 'PUT', keepBody: true });
		expect(methodAfterRedirect(307, 'POST')).toEqual({ method: 'POST', keepBody: true });
		expect(methodAfterRedirect(308, 'PUT')).toEqual({ method: 'PUT', keepBody: true });
	});
});

describe('fetch transport and the SDK fetch against a redirecting homeserver', () => {
	let hs: FakeHomeserver;
	let other: Server;
	const servers: Server[] = [];
	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		other = await startOtherOrigin();
	});
	afterEach(async () => {
		for (const server of servers.splice(0)) await server.stop();
		await other.stop();
		await hs.stop();
	});
	async function front(redirects: Parameters<typeof startFront>[1]): Promise<Server> {
		const server = await startFront(hs.url, redirects);
		servers.push(server);
		return server;
	}

	test('a 307 to another origin comes back as a clear failure; the other origin sees nothing', async () => {
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const evil = await front([{ match: /./, status: 307, to: (path) => `${other.url}${path}` }]);
		const client = new MatrixClient(
			evil.url,
			fetchTransport(() => `Bearer ${bot.accessToken}`),
		);
		const sent = await client.send(roomId, 'm.room.message', 'txn-1', {
			msgtype: 'm.notice',
			body: 'hello',
		});
		expect(sent).toMatchObject({ ok: false, kind: 'http', status: 307 });
		expect(other.requests).toEqual([]);
		expect(hs.timeline(roomId, 'm.room.message')).toEqual([]);
	});

	test('within the origin: followed with token and body (307 PUT), 303 becomes a GET', async () => {
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const moved = await front([
			{
				match: /^\/_matrix\/client\/v3\/rooms\/[^/]+\/send\//,
				status: 307,
				to: (path) => `/moved${path}`,
			},
			{
				match: /^\/_matrix\/client\/v3\/account\/whoami/,
				status: 303,
				to: () => '/moved/_matrix/client/v3/account/whoami',
			},
		]);
		const client = new MatrixClient(
			moved.url,
			fetchTransport(() => `Bearer ${bot.accessToken}`),
		);
		expect(
			await client.send(roomId, 'm.room.message', 'txn-1', { msgtype: 'm.notice', body: 'hello' }),
		).toMatchObject({ ok: true });
		expect(hs.timeline(roomId, 'm.room.message').map((e) => e.content.body)).toEqual(['hello']);
		const who = await client.request<{ user_id: string }>('POST', ['account', 'whoami'], {
			body: { ignored: true },
		});
		expect(who).toMatchObject({ ok: true, value: { user_id: bot.userId } });
		const hops = moved.requests.filter((r) => r.path.startsWith('/moved/'));
		expect(hops.map((r) => [r.method, r.authorization])).toEqual([
			['PUT', `Bearer ${bot.accessToken}`],
			['GET', `Bearer ${bot.accessToken}`],
		]);
		expect(JSON.parse(hops[0].body)).toEqual({ msgtype: 'm.notice', body: 'hello' });
		expect(other.requests).toEqual([]);
	});

	test('a redirect loop ends after 5 hops with a clear failure', async () => {
		const loop = await front([{ match: /./, status: 302, to: (path) => path }]);
		const client = new MatrixClient(
			loop.url,
			fetchTransport(() => 'Bearer x'),
		);
		expect(await client.whoami()).toMatchObject({ ok: false, status: 302 });
		expect(loop.requests).toHaveLength(6);
	});

	test('the fetch given to matrix-js-sdk: same origin followed, another origin not', async () => {
		const bot = hs.createUser('bot');
		const moved = await front([
			{
				match: /^\/_matrix\/client\/v3\/account\/whoami/,
				status: 308,
				to: (path) => `/moved${path}`,
			},
		]);
		const evil = await front([{ match: /./, status: 307, to: (path) => `${other.url}${path}` }]);
		const sdkFetch = sameOriginFetch();
		const headers = { Authorization: `Bearer ${bot.accessToken}` };
		const ok = await sdkFetch(`${moved.url}/_matrix/client/v3/account/whoami`, { headers });
		expect(ok.status).toBe(200);
		expect(await ok.json()).toMatchObject({ user_id: bot.userId });
		const refused = await sdkFetch(`${evil.url}/_matrix/client/v3/account/whoami`, { headers });
		expect(refused.status).toBe(307);
		expect(other.requests).toEqual([]);
	});

	test('the listener syncing through a homeserver that redirects /sync elsewhere never sends the token there', async () => {
		const bot = hs.createUser('bot');
		const evil = await front([
			{ match: /\/sync/, status: 307, to: (path) => `${other.url}${path}` },
		]);
		const listener = new CommandListener({
			homeserverUrl: evil.url,
			accessToken: bot.accessToken,
			onCommand: () => undefined,
			onError: () => undefined,
		});
		try {
			await listener.start();
			const deadline = Date.now() + 10_000;
			while (
				evil.requests.filter((r) => r.path.includes('/sync')).length < 2 &&
				Date.now() < deadline
			)
				await new Promise((r) => setTimeout(r, 50));
			expect(evil.requests.filter((r) => r.path.includes('/sync')).length).toBeGreaterThanOrEqual(
				2,
			);
			expect(listener.isPrepared).toBe(false);
		} finally {
			await listener.close();
		}
		expect(other.requests).toEqual([]);
	});
});
