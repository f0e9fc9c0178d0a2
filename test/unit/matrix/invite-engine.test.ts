import { fetchTransport } from '../../../lib/http/fetch-transport';
import { MatrixClient } from '../../../lib/matrix/client';
import { inviteUsers, membershipReport, revokeUsers } from '../../../lib/matrix/invite-engine';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

function botClient(hs: FakeHomeserver, token: string) {
	return new MatrixClient(
		hs.url,
		fetchTransport(() => `Bearer ${token}`),
	);
}

describe('invite engine against the fake homeserver', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	test('more than 20 people in a room: its member list is read once, not per person', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId, name: 'Big' });
		for (let i = 0; i < 25; i++) hs.createUser(`guest${i}`);
		const tasks = Array.from({ length: 25 }, (_, i) => ({
			room: roomId,
			userId: `@guest${i}:localhost`,
		}));
		hs.setMembership(roomId, '@guest3:localhost', 'join');
		const { results } = await inviteUsers(botClient(hs, bot.accessToken), tasks, {
			perInvitee: false,
		});
		expect(results.filter((r) => r.status === 'invited')).toHaveLength(24);
		expect(results[3].status).toBe('alreadyJoined');
		expect(hs.countRequests({ path: /\/members$/ })).toBe(1);
		expect(hs.countRequests({ path: /\/state\/m\.room\.member\// })).toBe(0);
	});

	test('classifies every outcome, reads each room once, resolves aliases once', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId, alias: '#orga:localhost' });
		for (const name of ['joined', 'invitee', 'banned', 'fresh', 'fresh2', 'blocker'])
			hs.createUser(name);
		hs.createUser('@far:remote.example');
		hs.setMembership(roomId, '@joined:localhost', 'join');
		hs.setMembership(roomId, '@invitee:localhost', 'invite', { sender: bot.userId });
		hs.setMembership(roomId, '@banned:localhost', 'ban', { sender: bot.userId });
		hs.blockInvites('@blocker:localhost');
		const users = [
			'@fresh:localhost',
			'@joined:localhost',
			'@invitee:localhost',
			'@banned:localhost',
			'@Upper:localhost',
			'not-an-id',
			'@x:nonexistent.invalid',
			'@far:remote.example',
			'@blocker:localhost',
			'@fresh:localhost',
		];
		const tasks = users.map((userId, i) => ({ room: i % 2 ? roomId : '#orga:localhost', userId }));
		const { results } = await inviteUsers(botClient(hs, bot.accessToken), tasks, {
			reason: 'Welcome to the event',
			perInvitee: false,
		});
		expect(results.map((r) => r.status)).toEqual([
			'invited',
			'alreadyJoined',
			'alreadyInvited',
			'banned',
			'invalidUserId',
			'invalidUserId',
			'serverUnreachable',
			'invited',
			'notPermitted',
			'invited',
		]);
		expect(results.every((r) => r.roomId === roomId || r.status === 'invalidUserId')).toBe(true);
		expect(results[8].reason).toBe('inviteBlocked');
		// The duplicate pair was invited exactly once.
		expect(hs.inviteCount(roomId, '@fresh:localhost')).toBe(1);
		expect(hs.members(roomId)['@fresh:localhost']).toBe('invite');
		expect(
			hs.timeline(roomId, 'm.room.member').find((e) => e.state_key === '@fresh:localhost')?.content
				.reason,
		).toBe('Welcome to the event');
		expect(hs.countRequests({ path: /\/directory\/room\// })).toBe(1);
		// A handful of people: one member-state read per distinct valid user and one for the bot,
		// shared by the alias and the ID of the same room; no whole member list.
		expect(hs.countRequests({ path: /\/members$/ })).toBe(0);
		const validUsers = new Set(users.filter((u) => /^@[a-z0-9._=/+-]+:[a-z0-9.-]+$/.test(u)));
		expect(hs.countRequests({ path: /\/state\/m\.room\.member\// })).toBe(validUsers.size + 1);
		// Locally rejected ids never reach the server.
		expect(hs.countRequests({ path: /\/invite$/ })).toBe(4);
	});

	test('room-level problems: unknown alias, bot not in room, bot lacking power', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const owner = hs.createUser('owner');
		hs.createUser('u');
		const foreign = hs.createRoom({ creator: owner.userId });
		const weak = hs.createRoom({
			creator: owner.userId,
			members: [bot.userId],
			powerLevels: { invite: 50 },
		});
		const { results } = await inviteUsers(botClient(hs, bot.accessToken), [
			{ room: '#missing:localhost', userId: '@u:localhost' },
			{ room: foreign, userId: '@u:localhost' },
			{ room: weak, userId: '@u:localhost' },
			{ room: 'general', userId: '@u:localhost' },
		]);
		expect(results.map((r) => [r.status, r.reason])).toEqual([
			['notPermitted', 'roomNotFound'],
			['notPermitted', 'botNotInRoom'],
			['notPermitted', 'insufficientPower'],
			['notPermitted', 'invalidRoom'],
		]);
		expect(hs.countRequests({ path: /\/invite$/ })).toBe(0);
	});

	test('200 users under 10/s burst 10: close to the floor, few 429s, none lost, each invited once', async () => {
		hs = await startFakeHomeserver({
			rateLimits: { invitesPerIssuer: { perSecond: 10, burst: 10 }, invitesPerRoom: false },
		});
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const users = Array.from({ length: 200 }, (_, i) => `@attendee${i}:localhost`);
		const started = Date.now();
		const { results, stats } = await inviteUsers(
			botClient(hs, bot.accessToken),
			users.map((userId) => ({ room: roomId, userId })),
			{ concurrency: 4 },
		);
		const seconds = (Date.now() - started) / 1000;
		const floor = (200 - 10) / 10;
		expect(results.every((r) => r.status === 'invited')).toBe(true);
		expect(users.every((u) => hs.inviteCount(roomId, u) === 1)).toBe(true);
		expect(seconds).toBeLessThan(floor * 1.15 + 1);
		const limited = hs.countRequests({ path: /\/invite$/, status: 429 });
		expect(limited).toBe(stats.rateLimited);
		expect(limited).toBeLessThan(10);
	}, 60_000);

	test('per-invitee limit is respected locally: the 6th room waits, or gives up within the budget', async () => {
		hs = await startFakeHomeserver({
			rateLimits: { invitesPerIssuer: false, invitesPerRoom: false },
		});
		const bot = hs.createUser('bot');
		hs.createUser('alice');
		const rooms = Array.from({ length: 7 }, () => hs.createRoom({ creator: bot.userId }));
		const { results } = await inviteUsers(
			botClient(hs, bot.accessToken),
			rooms.map((room) => ({ room, userId: '@alice:localhost' })),
			{ budgetMs: 3_000 },
		);
		expect(results.map((r) => r.status)).toEqual([
			'invited',
			'invited',
			'invited',
			'invited',
			'invited',
			'gaveUp',
			'gaveUp',
		]);
		expect(results[6].reason).toBe('inviteeRateLimited');
		expect(hs.countRequests({ path: /\/invite$/, status: 429 })).toBe(0);
	});

	test('attempts turned away (short 429s, 5xx) do not use up the per-invitee limit locally', async () => {
		// Before: every attempt took a local per-invitee token, so a 6th try after five 429s from the
		// room's limiter waited 5.5 minutes (or gave up) although the server had charged nothing.
		hs = await startFakeHomeserver({
			rateLimits: { invitesPerIssuer: false, invitesPerRoom: false },
		});
		const bot = hs.createUser('bot');
		hs.createUser('alice');
		const room = hs.createRoom({ creator: bot.userId });
		let turnedAway = 0;
		const transport = fetchTransport(() => `Bearer ${bot.accessToken}`);
		// The first 7 invites are answered the way Synapse answers a busy room limiter (no charge).
		const busyFirst: typeof transport = async (request) => {
			if (request.method === 'POST' && /\/invite$/.test(request.url) && turnedAway < 7) {
				turnedAway++;
				const body = { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 20 };
				return { status: 429, headers: { 'content-type': 'application/json' }, body } as never;
			}
			return transport(request);
		};
		const { results } = await inviteUsers(
			new MatrixClient(hs.url, busyFirst),
			[{ room, userId: '@alice:localhost' }],
			{ budgetMs: 10_000 },
		);
		expect(turnedAway).toBe(7);
		expect(results.map((r) => [r.status, r.attempts])).toEqual([['invited', 8]]);
		expect(hs.inviteCount(room, '@alice:localhost')).toBe(1);
	});

	test('a server-side per-invitee 429 (long retry) ends as gaveUp without slowing everyone else', async () => {
		hs = await startFakeHomeserver({
			rateLimits: {
				invitesPerIssuer: false,
				invitesPerRoom: false,
				invitesPerUser: { perSecond: 0.003, burst: 1 },
			},
		});
		const bot = hs.createUser('bot');
		const rooms = [hs.createRoom({ creator: bot.userId }), hs.createRoom({ creator: bot.userId })];
		const tasks = [
			{ room: rooms[0], userId: '@alice:localhost' },
			{ room: rooms[1], userId: '@alice:localhost' },
			...Array.from({ length: 20 }, (_, i) => ({ room: rooms[0], userId: `@u${i}:localhost` })),
		];
		const { results, stats } = await inviteUsers(botClient(hs, bot.accessToken), tasks, {
			perInvitee: { perSecond: 1, burst: 10 },
			budgetMs: 5_000,
		});
		expect(results[0].status).toBe('invited');
		expect([results[1].status, results[1].reason]).toEqual(['gaveUp', 'inviteeRateLimited']);
		expect(results.slice(2).every((r) => r.status === 'invited')).toBe(true);
		expect(stats.learnedRate).toBeGreaterThanOrEqual(10);
	});

	test('retries 5xx with backoff; gives up when the homeserver stays down; 401 stops the run', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		hs.failNext(2, { status: 503, path: /\/invite$/ });
		const ok = await inviteUsers(botClient(hs, bot.accessToken), [
			{ room: roomId, userId: '@a:localhost' },
		]);
		expect([ok.results[0].status, ok.results[0].attempts]).toEqual(['invited', 3]);
		expect(hs.inviteCount(roomId, '@a:localhost')).toBe(1);

		hs.failNext(50, { status: 500, path: /\/invite$/ });
		const down = await inviteUsers(
			botClient(hs, bot.accessToken),
			[{ room: roomId, userId: '@b:localhost' }],
			{ maxRetries: 2, budgetMs: 10_000 },
		);
		expect([down.results[0].status, down.results[0].reason]).toEqual(['gaveUp', 'homeserverError']);

		await expect(
			inviteUsers(botClient(hs, 'syt_wrong'), [{ room: roomId, userId: '@c:localhost' }]),
		).rejects.toThrow(/access token \(401 M_UNKNOWN_TOKEN\)/);
	});

	test('network failures mid-run end as gaveUp and nothing is dropped', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const client = botClient(hs, bot.accessToken);
		let calls = 0;
		const original = client.invite.bind(client);
		client.invite = async (...args) => {
			if (++calls === 3) await hs.setDown('refuse');
			return original(...args);
		};
		const users = Array.from({ length: 6 }, (_, i) => ({
			room: roomId,
			userId: `@n${i}:localhost`,
		}));
		const { results } = await inviteUsers(client, users, {
			concurrency: 1,
			maxRetries: 1,
			budgetMs: 5_000,
		});
		expect(results).toHaveLength(6);
		expect(results.slice(0, 2).map((r) => r.status)).toEqual(['invited', 'invited']);
		expect(results.slice(2).every((r) => r.status === 'gaveUp')).toBe(true);
		expect(results[2].reason).toBe('homeserverUnreachable');
		await hs.setDown(false);
	});

	test('a homeserver that is down from the start: every task ends as gaveUp, no exception', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const client = botClient(hs, bot.accessToken);
		await hs.setDown('refuse');
		const tasks = [
			{ room: roomId, userId: '@a:localhost' },
			{ room: '#x:localhost', userId: '@b:localhost' },
		];
		const invited = await inviteUsers(client, tasks, { maxRetries: 1 });
		expect(invited.results.map((r) => [r.status, r.reason])).toEqual([
			['gaveUp', 'homeserverUnreachable'],
			['gaveUp', 'homeserverUnreachable'],
		]);
		const revoked = await revokeUsers(client, tasks, { maxRetries: 1 });
		expect(revoked.results.map((r) => r.status)).toEqual(['gaveUp', 'gaveUp']);
		await hs.setDown(false);
	});

	test('revoke withdraws invites and removes members; membership report', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		for (const name of ['inv', 'mem', 'gone', 'mod']) hs.createUser(name);
		hs.setMembership(roomId, '@inv:localhost', 'invite', { sender: bot.userId });
		hs.setMembership(roomId, '@mem:localhost', 'join');
		hs.setMembership(roomId, '@gone:localhost', 'leave');
		hs.setMembership(roomId, '@mod:localhost', 'join');
		hs.setPowerLevel(roomId, '@mod:localhost', 100);
		const users = [
			'@inv:localhost',
			'@mem:localhost',
			'@gone:localhost',
			'@never:localhost',
			'@mod:localhost',
			'bad',
		];
		const client = botClient(hs, bot.accessToken);
		const before = await membershipReport(
			client,
			users.map((userId) => ({ room: roomId, userId })),
		);
		expect(before.map((r) => r.membership ?? r.status)).toEqual([
			'invited',
			'joined',
			'left',
			'none',
			'joined',
			'invalidUserId',
		]);
		const { results } = await revokeUsers(
			client,
			users.map((userId) => ({ room: roomId, userId })),
			{ reason: 'Order cancelled' },
		);
		expect(results.map((r) => r.status)).toEqual([
			'withdrawn',
			'removed',
			'notInRoom',
			'notInRoom',
			'notPermitted',
			'invalidUserId',
		]);
		expect(hs.members(roomId)['@inv:localhost']).toBe('leave');
		expect(hs.members(roomId)['@mem:localhost']).toBe('leave');
		const after = await membershipReport(client, [{ room: roomId, userId: '@inv:localhost' }]);
		expect(after[0].membership).toBe('left');
		const keep = await revokeUsers(client, [{ room: roomId, userId: '@mod:localhost' }], {
			removeMembers: false,
		});
		expect([keep.results[0].status, keep.results[0].reason]).toEqual([
			'notPermitted',
			'memberKept',
		]);
	});
});
