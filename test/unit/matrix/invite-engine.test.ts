import { fetchTransport } from '../../../lib/http/fetch-transport';
import type { HttpTransport } from '../../../lib/http/types';
import { MatrixClient } from '../../../lib/matrix/client';
import {
	inviteUsers,
	membershipReport,
	revokeUsers,
	SHARED_SCHEDULER_IDLE_MS,
	sharedScheduler,
	UNREACHABLE_SERVER_RETRY_MS,
} from '../../../lib/matrix/invite-engine';
import { inviteFloor } from '../../../lib/matrix/pacer';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';
import { VirtualClock } from '../../fakes/matrix/clock';
import { simulatedSynapse } from '../../fakes/matrix/synapse-sim';

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

	// Synapse charges the invite limiters before rc_message (synapse/handlers/room_member.py): every
	// invite refused by rc_message has cost its invitee one of 5 per-invitee tokens. Concurrent runs
	// (one n8n execution per webhook) must therefore pace as one, as the homeserver counts them.
	test('concurrent runs pace as one with the shared scheduler (rc_message 2/s burst 3, 12 one-invite runs): at most one 429, far fewer than with a scheduler each', async () => {
		hs = await startFakeHomeserver({
			// No per-invitee limiter here, so the runs with a scheduler each end too (their 429s would
			// have burnt each invitee's 5 tokens and then waited ~5.5 min apiece): this counts the 429s.
			rateLimits: { invitesPerIssuer: false, invitesPerRoom: false, invitesPerUser: false, message: { perSecond: 2, burst: 3 } },
		});
		const bot = hs.createUser('bot');
		const [sharedRoom, separateRoom, other] = [0, 1, 2].map(() => hs.createRoom({ creator: bot.userId }));
		const options = { limits: { perIssuer: false as const, perRoom: false as const, message: { perSecond: 2, burst: 3 } }, perInvitee: false as const };
		const burst = async (roomId: string, prefix: string, shared: boolean) => {
			const users = Array.from({ length: 12 }, (_, i) => `@${prefix}${i}:localhost`);
			const before = hs.countRequests({ path: /\/invite$/, status: 429 });
			const runs = await Promise.all(
				users.map((userId) =>
					inviteUsers(botClient(hs, bot.accessToken), [{ room: roomId, userId }], {
						...options,
						...(shared ? { scheduler: sharedScheduler(`test-${hs.url}`, options) } : {}),
					}),
				),
			);
			expect(runs.map((r) => r.results[0].status)).toEqual(users.map(() => 'invited'));
			expect(users.map((u) => hs.inviteCount(roomId, u))).toEqual(users.map(() => 1));
			// Nobody else touched: the other room got no invite.
			expect(users.map((u) => hs.inviteCount(other, u))).toEqual(users.map(() => 0));
			return hs.countRequests({ path: /\/invite$/, status: 429 }) - before;
		};
		const shared = await burst(sharedRoom, 'shared', true);
		await new Promise((r) => setTimeout(r, 2000)); // rc_message full again
		const separate = await burst(separateRoom, 'separate', false);
		expect(shared).toBeLessThanOrEqual(1);
		expect(separate).toBeGreaterThan(shared);
	}, 90_000);

	test('sharedScheduler: one per key; another key, or the same key after SHARED_SCHEDULER_IDLE_MS idle, gets a fresh one', () => {
		const at = 1_000_000;
		const a = sharedScheduler('key-a', {}, at);
		expect(sharedScheduler('key-a', {}, at + 1000)).toBe(a);
		expect(sharedScheduler('key-b', {}, at + 1000)).not.toBe(a);
		expect(sharedScheduler('key-a', {}, at + 1000 + SHARED_SCHEDULER_IDLE_MS + 1)).not.toBe(a);
	});

	test("told the server's limits (60 users, 10/s burst 10, no rc_message): paced by them, few 429s, none lost, each invited once", async () => {
		hs = await startFakeHomeserver({
			rateLimits: {
				invitesPerIssuer: { perSecond: 10, burst: 10 },
				invitesPerRoom: false,
				message: false,
			},
		});
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const users = Array.from({ length: 60 }, (_, i) => `@attendee${i}:localhost`);
		const { results, stats } = await inviteUsers(
			botClient(hs, bot.accessToken),
			users.map((userId) => ({ room: roomId, userId })),
			{
				concurrency: 4,
				limits: { perIssuer: { perSecond: 10, burst: 10 }, perRoom: false, message: false },
			},
		);
		expect(results.every((r) => r.status === 'invited')).toBe(true);
		expect(users.every((u) => hs.inviteCount(roomId, u) === 1)).toBe(true);
		const limited = hs.countRequests({ path: /\/invite$/, status: 429 });
		expect(limited).toBe(stats.rateLimited);
		expect(limited).toBeLessThan(5);
		expect(stats.mode).toBe('model');
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
		// Synapse: one more token per 1/0.003 s; the caller learns when to try again.
		expect(results[5].retryAfterMs).toBeGreaterThan(300_000);
		expect(hs.countRequests({ path: /\/invite$/, status: 429 })).toBe(0);
	});

	test('a server-side per-invitee 429 (long retry) ends as gaveUp without slowing everyone else', async () => {
		hs = await startFakeHomeserver({
			rateLimits: {
				invitesPerIssuer: false,
				invitesPerRoom: false,
				message: false,
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
		// The engine believes a looser per-invitee limit than the server's (burst 10 against 1).
		const { results, stats } = await inviteUsers(botClient(hs, bot.accessToken), tasks, {
			limits: { perIssuer: false, perRoom: false, message: false },
			perInvitee: { perSecond: 1, burst: 10 },
			budgetMs: 5_000,
		});
		expect(results[0].status).toBe('invited');
		expect([results[1].status, results[1].reason]).toEqual(['gaveUp', 'inviteeRateLimited']);
		expect(results[1].retryAfterMs).toBeGreaterThan(300_000);
		expect(results.slice(2).every((r) => r.status === 'invited')).toBe(true);
		// One 429 (alice's), and it held nobody else back.
		expect(stats.rateLimited).toBe(1);
	});

	// Rule copied: Synapse answers 502 M_UNKNOWN "Can't connect to server …" for an unreachable remote
	// (reference matrix-api.md §3.2 table); any other 5xx may be our own homeserver's passing fault.
	test('a passing 5xx on inviting a remote user is retried like any 5xx, not taken for an unreachable server (no hour of back-off)', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		for (const user of ['@far:remote.example', '@near:remote.example', '@a:localhost']) hs.createUser(user);
		// The first try of the first invitee meets a 500, the second try of it a proxy's 502 without
		// Synapse's error text: neither is the homeserver saying the remote server is gone.
		hs.failNext(1, { status: 500, path: /\/invite$/ });
		hs.failNext(1, { status: 502, path: /\/invite$/, body: { error: '' } });
		const { results } = await inviteUsers(
			botClient(hs, bot.accessToken),
			['@far:remote.example', '@near:remote.example', '@a:localhost'].map((userId) => ({ room: roomId, userId })),
			{ concurrency: 1, perInvitee: false },
		);
		expect(results.map((r) => [r.userId, r.status, r.retryAfterMs])).toEqual([
			['@far:remote.example', 'invited', undefined],
			['@near:remote.example', 'invited', undefined],
			['@a:localhost', 'invited', undefined],
		]);
		// Both faults were tried again; nobody waits an hour.
		expect(results.reduce((sum, r) => sum + r.attempts, 0)).toBe(5);
		for (const user of ['@far:remote.example', '@near:remote.example', '@a:localhost'])
			expect(hs.inviteCount(roomId, user)).toBe(1);
	});

	test("a remote invitee whose every try meets a 5xx while our homeserver answers the others: that server is held unreachable (older Synapse's 500); its other invitees are not tried, nobody else is touched", async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		for (const user of ['@x:dead.example', '@y:dead.example', '@b:localhost', '@c:far.example']) hs.createUser(user);
		const client = botClient(hs, bot.accessToken);
		const original = client.invite.bind(client);
		const asked: string[] = [];
		client.invite = async (room: string, userId: string, reason?: string) => {
			asked.push(userId);
			if (userId.endsWith(':dead.example'))
				return { ok: false as const, kind: 'http' as const, status: 500, errcode: 'M_UNKNOWN', serverError: 'Internal server error' };
			return original(room, userId, reason);
		};
		const users = ['@x:dead.example', '@b:localhost', '@y:dead.example', '@c:far.example'];
		const { results } = await inviteUsers(client, users.map((userId) => ({ room: roomId, userId })), {
			concurrency: 1,
			maxRetries: 2,
			perInvitee: false,
		});
		expect(results.map((r) => [r.userId, r.status, r.reason, r.retryAfterMs])).toEqual([
			['@x:dead.example', 'serverUnreachable', 'remoteServerUnreachable', UNREACHABLE_SERVER_RETRY_MS],
			['@b:localhost', 'invited', 'invited', undefined],
			['@y:dead.example', 'serverUnreachable', 'remoteServerUnreachable', UNREACHABLE_SERVER_RETRY_MS],
			['@c:far.example', 'invited', 'invited', undefined],
		]);
		// Three tries for the first invitee of the server, none for the second.
		expect(asked.filter((u) => u === '@x:dead.example')).toHaveLength(3);
		expect(asked).not.toContain('@y:dead.example');
		expect(hs.inviteCount(roomId, '@b:localhost')).toBe(1);
		expect(hs.inviteCount(roomId, '@c:far.example')).toBe(1);
	});

	test('our homeserver failing every request: a remote invitee ends gaveUp (tried again by the next run), not serverUnreachable', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		hs.createUser('@far:remote.example');
		hs.failNext(50, { status: 500, path: /\/invite$/ });
		const { results } = await inviteUsers(
			botClient(hs, bot.accessToken),
			['@far:remote.example', '@a:localhost'].map((userId) => ({ room: roomId, userId })),
			{ maxRetries: 2, perInvitee: false },
		);
		expect(results.map((r) => [r.status, r.reason, r.retryAfterMs])).toEqual([
			['gaveUp', 'homeserverError', undefined],
			['gaveUp', 'homeserverError', undefined],
		]);
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

/**
 * Whole invite runs in virtual time against Synapse's limiters in Synapse's order
 * (test/fakes/matrix/synapse-sim.ts): hours of Synapse-default pacing in milliseconds.
 */
describe("invite engine at Synapse's pace (virtual time)", () => {
	const BOT = '@eventbot:sim.example';

	function setUp(
		rooms: number,
		options: Parameters<typeof simulatedSynapse>[0]['rateLimits'] = {},
	) {
		const clock = new VirtualClock();
		const roomIds = Array.from({ length: rooms }, (_, i) => `!room${i}:sim.example`);
		const sim = simulatedSynapse({ clock, bot: BOT, rooms: roomIds, rateLimits: options });
		const client = new MatrixClient('https://sim.example', sim.transport);
		return { clock, roomIds, sim, client, timing: { now: clock.now, sleep: clock.sleep } };
	}

	/** The Matrix Invite node's order: each person with all their rooms. */
	function tasksFor(people: number, roomIds: string[], server = 'sim.example') {
		return Array.from({ length: people }, (_, p) =>
			roomIds.map((room) => ({ room, userId: `@attendee${p}:${server}` })),
		).flat();
	}

	test.each([
		[600, 1],
		[600, 3],
		[40, 2],
	])(
		"%i people × %i rooms at Synapse's defaults, no budget: within 1.1× of the floor, nobody gaveUp, each invited once, no per-invitee 429",
		async (people, rooms) => {
			const { clock, roomIds, sim, client, timing } = setUp(rooms);
			const tasks = tasksFor(people, roomIds);
			const { results, stats } = await clock.run(inviteUsers(client, tasks, timing));
			const floor = inviteFloor({ invites: tasks.length, rooms }).seconds;
			expect(results.every((r) => r.status === 'invited')).toBe(true);
			expect(tasks.every((t) => sim.inviteCount(t.room, t.userId) === 1)).toBe(true);
			expect(stats.durationMs / 1000).toBeLessThanOrEqual(floor * 1.1);
			expect(stats.durationMs / 1000).toBeGreaterThanOrEqual(floor);
			// The only 429s are the probes' (rc_message); none from anybody's own bucket.
			const refused = sim.invites.filter(([, status]) => status === 429);
			expect(refused.every(([, , wait]) => (wait ?? 0) <= 5000)).toBe(true);
			expect(refused.length).toBe(stats.probes);
			expect(refused.length / tasks.length).toBeLessThan(0.05);
			expect(stats.mode).toBe('model');
		},
	);

	test("the issue's case: 40 people × 2 rooms within a 600 s budget end invited (floor 350 s)", async () => {
		const { clock, roomIds, client, timing } = setUp(2);
		const tasks = tasksFor(40, roomIds);
		const { results } = await clock.run(
			inviteUsers(client, tasks, { ...timing, budgetMs: 600_000 }),
		);
		expect(inviteFloor({ invites: 80, rooms: 2 }).seconds).toBe(350);
		expect(results.filter((r) => r.status !== 'invited')).toEqual([]);
	});

	test("the bot's notices share rc_message: a run after ten notices corrects its model from the first 429s (one per request in flight) and burns nobody's tokens", async () => {
		const { clock, roomIds, sim, client, timing } = setUp(1);
		// The "starting…" replies of earlier commands filled the bucket.
		for (let i = 0; i < 10; i++) sim.limits.chargeEvent(BOT);
		const tasks = tasksFor(30, roomIds);
		const { results, stats } = await clock.run(inviteUsers(client, tasks, timing));
		expect(results.every((r) => r.status === 'invited')).toBe(true);
		// Floor with the ten notices counted: (30 + 10 − 10) / 0.2 s.
		const floor = inviteFloor({ invites: 30, notices: 10 }).seconds;
		expect(floor).toBe(150);
		expect(stats.durationMs / 1000).toBeLessThanOrEqual(floor * 1.1);
		// The four requests in flight at the start bounce once each; then the model agrees.
		expect(stats.rateLimited).toBeLessThanOrEqual(4 + stats.probes);
		expect(stats.mode).toBe('model');
		const refusedPerPerson = new Map<string, number>();
		for (const [user, status] of sim.invites)
			if (status === 429) refusedPerPerson.set(user, (refusedPerPerson.get(user) ?? 0) + 1);
		expect(Math.max(...refusedPerPerson.values())).toBe(1);
	});

	test('after a 429 the same invitee is not retried at once: the next request goes to someone else', async () => {
		const { clock, roomIds, sim, client, timing } = setUp(1);
		for (let i = 0; i < 10; i++) sim.limits.chargeEvent(BOT);
		const tasks = ['@alice:sim.example', '@bob:sim.example', '@carol:sim.example'].map(
			(userId) => ({ room: roomIds[0], userId }),
		);
		const { results } = await clock.run(inviteUsers(client, tasks, { ...timing, concurrency: 1 }));
		expect(results.map((r) => r.status)).toEqual(['invited', 'invited', 'invited']);
		expect(sim.invites.map(([user, status]) => [user, status])).toEqual([
			['@alice:sim.example', 429],
			['@bob:sim.example', 200],
			['@carol:sim.example', 200],
			['@alice:sim.example', 200],
		]);
	});

	test('short 429s are taken to have cost the invitee a token (Synapse charges per-invitee before rc_message): no request is sent that her bucket must refuse', async () => {
		const { clock, roomIds, sim, client, timing } = setUp(1);
		// Six short 429s for alice, as rc_message would answer while others use the bot's bucket.
		let refusals = 0;
		const sendTimes: number[] = [];
		const transport: HttpTransport = async (request) => {
			const body = request.body as { user_id?: string } | undefined;
			if (request.method === 'POST' && body?.user_id === '@alice:sim.example') {
				sendTimes.push(clock.now());
				if (refusals < 6) {
					// What Synapse would have done: her per-invitee bucket charged, rc_message refusing.
					sim.limits.ratelimit('invitesPerUser', '@alice:sim.example', BOT);
					refusals++;
					return {
						status: 429,
						headers: {},
						body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 20 },
					} as never;
				}
			}
			return sim.transport(request);
		};
		const { results } = await clock.run(
			inviteUsers(
				new MatrixClient('https://sim.example', transport),
				[{ room: roomIds[0], userId: '@alice:sim.example' }],
				timing,
			),
		);
		expect(results.map((r) => r.status)).toEqual(['invited']);
		// Five tries fit her bucket; the sixth waited for a new token instead of meeting a 5.5-minute 429.
		expect(sendTimes.length).toBe(7);
		expect(sendTimes[5] - sendTimes[4]).toBeGreaterThan(300_000);
		expect(sim.invites.filter(([, status]) => status === 429)).toEqual([]);
	});

	test('a remote server that does not exist: one request (502 after ~4 s), classified serverUnreachable with a retry hint; its other invitees are not tried, other servers are untouched', async () => {
		const clock = new VirtualClock();
		const roomIds = ['!room0:sim.example'];
		const sim = simulatedSynapse({ clock, bot: BOT, rooms: roomIds, unreachableDelayMs: 4_000 });
		sim.unreachable.add('gone.example');
		const client = new MatrixClient('https://sim.example', sim.transport);
		const users = [
			'@a:gone.example',
			'@b:gone.example',
			'@c:sim.example',
			'@d:other.example',
			'@e:gone.example',
		];
		const { results } = await clock.run(
			inviteUsers(
				client,
				users.map((userId) => ({ room: roomIds[0], userId })),
				{ now: clock.now, sleep: clock.sleep },
			),
		);
		expect(results.map((r) => [r.status, r.reason, r.attempts, r.retryAfterMs])).toEqual([
			['serverUnreachable', 'remoteServerUnreachable', 1, UNREACHABLE_SERVER_RETRY_MS],
			['serverUnreachable', 'remoteServerUnreachable', 0, UNREACHABLE_SERVER_RETRY_MS],
			['invited', 'invited', 1, undefined],
			['invited', 'invited', 1, undefined],
			['serverUnreachable', 'remoteServerUnreachable', 0, UNREACHABLE_SERVER_RETRY_MS],
		]);
		expect(sim.invites.filter(([user]) => user.endsWith(':gone.example'))).toEqual([
			['@a:gone.example', 502, undefined],
		]);
	});

	test('no budget means no gaveUp: one person into 7 rooms waits for two new tokens; with a budget the two end gaveUp with a retry hint', async () => {
		const unlimited = setUp(7);
		const tasks = unlimited.roomIds.map((room) => ({ room, userId: '@alice:sim.example' }));
		const done = await unlimited.clock.run(inviteUsers(unlimited.client, tasks, unlimited.timing));
		expect(done.results.every((r) => r.status === 'invited')).toBe(true);
		expect(done.stats.durationMs).toBeGreaterThanOrEqual(2 * (1000 / 0.003) - 1);
		expect(unlimited.sim.invites.filter(([, status]) => status === 429)).toEqual([]);

		const budgeted = setUp(7);
		const limited = await budgeted.clock.run(
			inviteUsers(
				budgeted.client,
				tasks.map((t, i) => ({ ...t, room: budgeted.roomIds[i] })),
				{
					...budgeted.timing,
					budgetMs: 60_000,
				},
			),
		);
		expect(limited.results.map((r) => r.status)).toEqual([
			...Array(5).fill('invited'),
			'gaveUp',
			'gaveUp',
		]);
		expect(limited.results[5]).toMatchObject({ reason: 'inviteeRateLimited' });
		expect(limited.results[5].retryAfterMs).toBeGreaterThan(270_000);
	});

	test("a homeserver looser than Synapse's defaults: the first probe gets through and the run learns the real pace (500 invites at 10/s)", async () => {
		const { clock, roomIds, client, timing } = setUp(1, {
			message: { perSecond: 10, burst: 10 },
			invitesPerIssuer: { perSecond: 10, burst: 10 },
			invitesPerRoom: false,
		});
		const tasks = tasksFor(500, roomIds);
		const { results, stats } = await clock.run(inviteUsers(client, tasks, timing));
		const floor = inviteFloor({
			invites: 500,
			limits: {
				message: { perSecond: 10, burst: 10 },
				perIssuer: { perSecond: 10, burst: 10 },
				perRoom: false,
			},
		}).seconds;
		expect(floor).toBe(49);
		expect(results.every((r) => r.status === 'invited')).toBe(true);
		expect(stats.mode).toBe('learning');
		expect(stats.durationMs / 1000).toBeLessThanOrEqual(floor * 1.25);
		expect(stats.rateLimited / 500).toBeLessThan(0.05);
	});

	test('a stricter homeserver (rc_message 0.1/s): repeated surprises switch the run to learning, and it still ends with everyone invited once', async () => {
		const { clock, roomIds, sim, client, timing } = setUp(1, {
			message: { perSecond: 0.1, burst: 10 },
		});
		const tasks = tasksFor(40, roomIds);
		const { results, stats } = await clock.run(inviteUsers(client, tasks, timing));
		expect(results.every((r) => r.status === 'invited')).toBe(true);
		expect(tasks.every((t) => sim.inviteCount(t.room, t.userId) === 1)).toBe(true);
		expect(stats.mode).toBe('learning');
		const floor = inviteFloor({
			invites: 40,
			limits: { message: { perSecond: 0.1, burst: 10 } },
		}).seconds;
		expect(stats.durationMs / 1000).toBeLessThanOrEqual(floor * 1.3);
	});
});

describe("invite engine: lifting the bot's own limits (Synapse admin override_ratelimit)", () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	test('an admin bot lifts its limits once and invites without a single 429; the override stays', async () => {
		hs = await startFakeHomeserver();
		const bot = hs.createUser('bot', { admin: true });
		const roomId = hs.createRoom({ creator: bot.userId });
		const tasks = Array.from({ length: 40 }, (_, i) => ({
			room: roomId,
			userId: `@g${i}:localhost`,
		}));
		const { results, stats } = await inviteUsers(botClient(hs, bot.accessToken), tasks, {
			liftRateLimits: true,
		});
		expect(results.every((r) => r.status === 'invited')).toBe(true);
		expect(stats).toMatchObject({
			rateLimitOverride: 'applied',
			mode: 'unlimited',
			rateLimited: 0,
		});
		expect(hs.countRequests({ status: 429 })).toBe(0);
		expect(hs.limits.override(bot.userId)).toEqual({ messagesPerSecond: 0, burstCount: 0 });
		const again = await inviteUsers(
			botClient(hs, bot.accessToken),
			[{ room: roomId, userId: '@late:localhost' }],
			{ liftRateLimits: true },
		);
		expect(again.stats.rateLimitOverride).toBe('alreadyLifted');
		expect(hs.countRequests({ method: 'POST', path: /override_ratelimit$/ })).toBe(1);
	});

	test("a bot that is not an admin is told so and goes on at the normal limits; nobody else's override changes", async () => {
		hs = await startFakeHomeserver();
		const bot = hs.createUser('bot');
		const other = hs.createUser('other');
		const roomId = hs.createRoom({ creator: bot.userId });
		const tasks = Array.from({ length: 5 }, (_, i) => ({
			room: roomId,
			userId: `@g${i}:localhost`,
		}));
		const { results, stats } = await inviteUsers(botClient(hs, bot.accessToken), tasks, {
			liftRateLimits: true,
		});
		expect(results.every((r) => r.status === 'invited')).toBe(true);
		expect(stats).toMatchObject({ rateLimitOverride: 'notAdmin', mode: 'model' });
		expect(hs.limits.override(bot.userId)).toBeUndefined();
		expect(hs.limits.override(other.userId)).toBeUndefined();
	});

	test('without the option no admin call is made', async () => {
		hs = await startFakeHomeserver();
		const bot = hs.createUser('bot', { admin: true });
		const roomId = hs.createRoom({ creator: bot.userId });
		await inviteUsers(botClient(hs, bot.accessToken), [{ room: roomId, userId: '@a:localhost' }]);
		expect(hs.countRequests({ path: /^\/_synapse\/admin\// })).toBe(0);
	});
});
