/**
 * matrix-js-sdk 43 must run its real sync loop against the fake (needs Node 24 + vm modules for the
 * ESM-only SDK under jest: NODE_OPTIONS=--experimental-vm-modules).
 */
import * as sdk from 'matrix-js-sdk';
import { startFakeHomeserver, type FakeHomeserver } from './index';

import { quietLogger as quiet } from '../../../lib/matrix/listener';

describe('matrix-js-sdk against the fake homeserver', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop().catch(() => undefined));

	test('startClient reaches PREPARED, receives a live timeline message and an invite, and stops', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const alice = hs.createUser('alice');
		const roomId = hs.createRoom({ creator: alice.userId, members: [bot.userId], name: 'Orga' });
		hs.say(alice.userId, roomId, 'old message before start');

		const controller = new AbortController();
		const fetchFn: typeof fetch = (input, init) =>
			fetch(input, {
				...init,
				signal: init?.signal
					? AbortSignal.any([init.signal, controller.signal])
					: controller.signal,
			});
		const client = sdk.createClient({
			baseUrl: hs.url,
			accessToken: bot.accessToken,
			userId: bot.userId,
			deviceId: bot.deviceId,
			logger: quiet as never,
			fetchFn,
		});
		// The SDK's per-request timeout timers are never cleared (reference §4 pitfall): own them instead.
		type RequestOpts = { localTimeoutMs?: number; abortSignal?: AbortSignal };
		const http = client.http as unknown as {
			requestOtherUrl: (
				method: unknown,
				url: unknown,
				body: unknown,
				opts?: RequestOpts,
			) => Promise<unknown>;
		};
		const original = http.requestOtherUrl.bind(http);
		http.requestOtherUrl = async (method, url, body, opts: RequestOpts = {}) => {
			const timeout = new AbortController();
			const timer = opts.localTimeoutMs
				? setTimeout(() => timeout.abort(), opts.localTimeoutMs)
				: undefined;
			try {
				const signals = [timeout.signal, ...(opts.abortSignal ? [opts.abortSignal] : [])];
				return await original(method, url, body, {
					...opts,
					localTimeoutMs: undefined,
					abortSignal: AbortSignal.any(signals),
				});
			} finally {
				clearTimeout(timer);
			}
		};
		const received: string[] = [];
		let prepared = false;
		const invites: string[] = [];
		client.on(sdk.RoomEvent.Timeline, (event, _room, toStart, _removed, data) => {
			if (toStart || !data?.liveEvent || !prepared || event.getType() !== 'm.room.message') return;
			received.push(String(event.getContent().body));
		});
		client.on(sdk.RoomMemberEvent.Membership, (_event, member) => {
			if (member.userId === bot.userId && member.membership === 'invite')
				invites.push(member.roomId);
		});
		const preparedPromise = new Promise<void>((resolve) =>
			client.on(sdk.ClientEvent.Sync, (state) => {
				if (state === 'PREPARED') {
					prepared = true;
					resolve();
				}
			}),
		);
		await client.startClient({ initialSyncLimit: 5 });
		await preparedPromise;
		expect(client.getRoom(roomId)?.name).toBe('Orga');

		hs.say(alice.userId, roomId, '!status');
		const other = hs.createRoom({ creator: alice.userId });
		hs.setMembership(other, bot.userId, 'invite', { sender: alice.userId });
		const deadline = Date.now() + 10_000;
		while ((received.length < 1 || invites.length < 1) && Date.now() < deadline)
			await new Promise((r) => setTimeout(r, 20));
		expect(received).toEqual(['!status']);
		expect(invites).toEqual([other]);

		// The SDK's own REST helpers work too.
		await client.joinRoom(other);
		expect(hs.membership(other, bot.userId)).toBe('join');
		const sent = await client.sendNotice(roomId, 'pong');
		expect(hs.timeline(roomId, 'm.room.message').map((e) => e.event_id)).toContain(sent.event_id);

		client.stopClient();
		controller.abort();
		await hs.stop();
		// Whether the raw SDK leaves timers or keep-alive sockets behind is the SDK's business (the
		// reference notes it does); our listener closes it with nothing left alive, which
		// test/unit/matrix/listener.test.ts and test/engine/matrix-command-trigger.test.ts check.
		expect(hs.countRequests({ path: /\/sync$/ })).toBeGreaterThanOrEqual(2);
		expect(hs.countRequests({ path: /\/user\/.*\/filter$/, method: 'POST' })).toBe(1);
	});
});
