/**
 * The fake homeserver's rate limits and transaction IDs, each test naming the Synapse source rule it
 * copies. A manual clock stands in for time, so waits and expiries are exact and nothing here
 * depends on how fast the machine is.
 */
import { manualClock, RateLimiter, startFakeHomeserver, type FakeHomeserver } from './index';

type Answer = {
	status: number;
	body: Record<string, unknown> & { errcode?: string; error?: string; retry_after_ms?: number };
	headers: Headers;
};

const enc = encodeURIComponent;

function as(hs: FakeHomeserver, token?: string, headers: Record<string, string> = {}) {
	return async (method: string, path: string, body?: unknown): Promise<Answer> => {
		const response = await fetch(`${hs.url}${path}`, {
			method,
			headers: {
				...(token ? { Authorization: `Bearer ${token}` } : {}),
				...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
				...headers,
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return {
			status: response.status,
			body: (await response.json()) as Answer['body'],
			headers: response.headers,
		};
	};
}

describe('Ratelimiter math (synapse/api/ratelimiting.py can_do_action)', () => {
	test('burst, drain, retry_after_ms truncated, refused actions not recorded', () => {
		let now = 0;
		const limiter = new RateLimiter({ perSecond: 0.2, burst: 10 }, () => now);
		for (let i = 0; i < 10; i++) expect(limiter.take('bot')).toBeUndefined();
		// time_allowed = start + (count - burst + 1) / rate = 0 + 1 / 0.2 s.
		expect(limiter.take('bot')).toBe(5000);
		now = 1234.5;
		expect(limiter.take('bot')).toBe(Math.trunc(5000 - 1234.5));
		// Refusals cost nothing: the 11th still fits at exactly 5 s.
		now = 5000;
		expect(limiter.take('bot')).toBeUndefined();
		expect(limiter.take('bot')).toBe(5000);
		// Other keys have their own bucket.
		expect(limiter.take('someone else')).toBeUndefined();
	});

	test('a bucket that ran empty starts over; update=false only looks', () => {
		let now = 0;
		const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, () => now);
		expect(limiter.check('k', false).allowed).toBe(true);
		expect(limiter.check('k', false).allowed).toBe(true);
		expect(limiter.check('k', false).allowed).toBe(true);
		limiter.take('k');
		limiter.take('k');
		expect(limiter.check('k', false)).toEqual({ allowed: false, retryAfterMs: 1000 });
		now = 10_000;
		limiter.take('k');
		limiter.take('k');
		expect(limiter.check('k')).toEqual({ allowed: false, retryAfterMs: 1000 });
	});

	test('record_action counts past the limit', () => {
		let now = 0;
		const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, () => now);
		limiter.record('room');
		limiter.record('room');
		limiter.record('room');
		expect(limiter.take('room')).toBe(2000);
		now = 2000;
		expect(limiter.take('room')).toBeUndefined();
	});
});

describe('fake homeserver: Synapse rate limits', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs?.stop());

	test('rc_message limits membership changes and messages in one bucket per user (message.py persist_and_notify_client_event; config 0.2/s burst 10)', async () => {
		const clock = manualClock();
		hs = await startFakeHomeserver({ clock });
		const bot = hs.createUser('bot');
		const other = hs.createUser('other');
		const roomId = hs.createRoom({ creator: bot.userId, members: [other.userId] });
		const room = `/_matrix/client/v3/rooms/${enc(roomId)}`;
		const call = as(hs, bot.accessToken);
		for (const name of ['a', 'b', 'c', 'd', 'e']) hs.createUser(name);
		hs.createUser('@far:remote.example');
		const statuses: number[] = [];
		// Ten different actions: invites, a remote invite, a kick, a ban, an unban, messages.
		for (const user of ['a', 'b', 'c'])
			statuses.push(
				(await call('POST', `${room}/invite`, { user_id: `@${user}:localhost` })).status,
			);
		statuses.push(
			(await call('POST', `${room}/invite`, { user_id: '@far:remote.example' })).status,
		);
		statuses.push((await call('POST', `${room}/kick`, { user_id: '@a:localhost' })).status);
		statuses.push((await call('POST', `${room}/ban`, { user_id: '@b:localhost' })).status);
		statuses.push((await call('POST', `${room}/unban`, { user_id: '@b:localhost' })).status);
		for (const txn of ['t1', 't2', 't3'])
			statuses.push(
				(
					await call('PUT', `${room}/send/m.room.message/${txn}`, {
						msgtype: 'm.notice',
						body: txn,
					})
				).status,
			);
		expect(statuses).toEqual(Array(10).fill(200));
		// The bucket is full: the next invite, kick or message waits for one token (1 / 0.2 s).
		const invite = await call('POST', `${room}/invite`, { user_id: '@d:localhost' });
		const kick = await call('POST', `${room}/kick`, { user_id: '@c:localhost' });
		const send = await call('PUT', `${room}/send/m.room.message/t4`, {
			msgtype: 'm.notice',
			body: 'x',
		});
		for (const limited of [invite, kick, send])
			expect([limited.status, limited.body.errcode, limited.body.retry_after_ms]).toEqual([
				429,
				'M_LIMIT_EXCEEDED',
				5000,
			]);
		// Another user's bucket is untouched.
		expect(
			(
				await as(hs, other.accessToken)('PUT', `${room}/send/m.room.message/o1`, {
					msgtype: 'm.text',
					body: 'hi',
				})
			).status,
		).toBe(200);
		// A join is an event too: rc_joins.local lets it pass, rc_message (full) does not.
		const joiner = hs.createUser('joiner');
		const own = hs.createRoom({ creator: joiner.userId });
		hs.setMembership(roomId, joiner.userId, 'invite', { sender: bot.userId });
		const asJoiner = as(hs, joiner.accessToken);
		for (let i = 0; i < 10; i++)
			await asJoiner('PUT', `/_matrix/client/v3/rooms/${enc(own)}/send/m.room.message/j${i}`, {
				msgtype: 'm.text',
				body: 'x',
			});
		const join = await asJoiner('POST', `${room}/join`, {});
		expect([join.status, join.body.retry_after_ms]).toEqual([429, 5000]);
		expect(hs.membership(roomId, joiner.userId)).toBe('invite');
		clock.advance(5000);
		expect((await asJoiner('POST', `${room}/join`, {})).status).toBe(200);
		expect((await call('POST', `${room}/invite`, { user_id: '@d:localhost' })).status).toBe(200);
	});

	test('invite limiters are charged before rc_message and keep the attempt when rc_message answers 429 (room_member.py update_membership → ratelimit_invite)', async () => {
		const clock = manualClock();
		hs = await startFakeHomeserver({
			clock,
			rateLimits: { message: { perSecond: 0.2, burst: 1 } },
		});
		const bot = hs.createUser('bot');
		const rooms = Array.from({ length: 7 }, () => hs.createRoom({ creator: bot.userId }));
		const call = as(hs, bot.accessToken);
		const invite = (room: string) =>
			call('POST', `/_matrix/client/v3/rooms/${enc(room)}/invite`, { user_id: '@alice:localhost' });
		// One notice fills rc_message (burst 1).
		await call('PUT', `/_matrix/client/v3/rooms/${enc(rooms[0])}/send/m.room.message/n1`, {
			msgtype: 'm.notice',
			body: 'Starting the batch',
		});
		// Five refused invites of one person, at once: rc_message says wait 5 s each time…
		for (const room of rooms.slice(0, 5)) {
			const refused = await invite(room);
			expect([refused.status, refused.body.retry_after_ms]).toEqual([429, 5000]);
		}
		expect(hs.membership(rooms[0], '@alice:localhost')).toBeUndefined();
		// …but each one took a per-invitee token: after those 5 s she waits 5.5 minutes.
		clock.advance(5000);
		const starved = await invite(rooms[5]);
		expect(starved.status).toBe(429);
		expect(starved.body.retry_after_ms).toBeGreaterThan(300_000);
		// Someone else is fine: only alice's bucket is empty.
		const bob = await call('POST', `/_matrix/client/v3/rooms/${enc(rooms[5])}/invite`, {
			user_id: '@bob:localhost',
		});
		expect(bob.status).toBe(200);
	});

	test('a 403 after the invite limiters costs their tokens but no rc_message token (event auth runs before rc_message)', async () => {
		const clock = manualClock();
		hs = await startFakeHomeserver({
			clock,
			rateLimits: {
				message: { perSecond: 0.2, burst: 2 },
				invitesPerIssuer: { perSecond: 0.3, burst: 3 },
			},
		});
		const bot = hs.createUser('bot');
		const joined = hs.createUser('joined');
		const roomId = hs.createRoom({ creator: bot.userId, members: [joined.userId] });
		const invite = (userId: string) =>
			as(hs, bot.accessToken)('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, {
				user_id: userId,
			});
		expect((await invite(joined.userId)).status).toBe(403);
		expect((await invite('@a:localhost')).status).toBe(200);
		expect((await invite('@b:localhost')).status).toBe(200);
		// rc_message (burst 2) still had room for both; the issuer's third token went to the 403.
		const fourth = await invite('@c:localhost');
		expect([fourth.status, fourth.body.retry_after_ms]).toEqual([429, Math.trunc(1000 / 0.3)]);
	});

	test('rc_invites.per_room is keyed by the room alone, across inviters (ratelimit_invite key=room_id)', async () => {
		hs = await startFakeHomeserver({
			clock: manualClock(),
			rateLimits: { invitesPerRoom: { perSecond: 0.3, burst: 2 } },
		});
		const one = hs.createUser('one');
		const two = hs.createUser('two');
		const shared = hs.createRoom({ creator: one.userId, members: [two.userId] });
		const elsewhere = hs.createRoom({ creator: two.userId });
		const invite = (token: string, room: string, user: string) =>
			as(hs, token)('POST', `/_matrix/client/v3/rooms/${enc(room)}/invite`, { user_id: user });
		expect((await invite(one.accessToken, shared, '@a:localhost')).status).toBe(200);
		expect((await invite(two.accessToken, shared, '@b:localhost')).status).toBe(200);
		expect((await invite(two.accessToken, shared, '@c:localhost')).status).toBe(429);
		expect((await invite(two.accessToken, elsewhere, '@c:localhost')).status).toBe(200);
	});

	test('rc_invites.per_user: 5 invites of one person, then one per 333 s (config 0.003/s burst 5)', async () => {
		const clock = manualClock();
		hs = await startFakeHomeserver({ clock });
		const bot = hs.createUser('bot');
		const rooms = Array.from({ length: 7 }, () => hs.createRoom({ creator: bot.userId }));
		const invite = (room: string) =>
			as(hs, bot.accessToken)('POST', `/_matrix/client/v3/rooms/${enc(room)}/invite`, {
				user_id: '@alice:localhost',
			});
		const statuses: number[] = [];
		for (const room of rooms.slice(0, 5)) statuses.push((await invite(room)).status);
		const sixth = await invite(rooms[5]);
		expect(statuses).toEqual([200, 200, 200, 200, 200]);
		// time_allowed = 0 + (5 - 5 + 1) / 0.003 s, truncated to whole milliseconds.
		expect([sixth.status, sixth.body.retry_after_ms]).toEqual([429, Math.trunc(1000 / 0.003)]);
		clock.advance(Math.ceil(1000 / 0.003));
		expect((await invite(rooms[5])).status).toBe(200);
		expect((await invite(rooms[6])).status).toBe(429);
	});

	test('login is limited per IP (rc_login.address, every attempt) and per account (rc_login.account, successes) — rest/client/login.py', async () => {
		hs = await startFakeHomeserver({ clock: manualClock(), trustForwardedFor: true });
		for (const name of ['alice', 'bob', 'carol', 'dave']) hs.createUser(name, { password: 'pw' });
		const login = (user: string, ip: string, password = 'pw') =>
			as(hs, undefined, { 'X-Forwarded-For': ip })('POST', '/_matrix/client/v3/login', {
				type: 'm.login.password',
				identifier: { type: 'm.id.user', user },
				password,
			});
		// One account from four addresses: the account limiter (burst 3) stops the fourth.
		const account: number[] = [];
		for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'])
			account.push((await login('alice', ip)).status);
		expect(account).toEqual([200, 200, 200, 429]);
		// Four accounts from one address: the address limiter (burst 3) stops the fourth.
		const address: number[] = [];
		for (const user of ['bob', 'carol', 'dave', 'bob'])
			address.push((await login(user, '10.0.1.1')).status);
		expect(address).toEqual([200, 200, 200, 429]);
	});

	test('failed logins: three wrong passwords, then 429 even with the right one (auth.py validate_login looks at rc_login.failed_attempts first)', async () => {
		hs = await startFakeHomeserver({ clock: manualClock(), trustForwardedFor: true });
		hs.createUser('alice', { password: 'right' });
		const login = (ip: string, password: string) =>
			as(hs, undefined, { 'X-Forwarded-For': ip })('POST', '/_matrix/client/v3/login', {
				type: 'm.login.password',
				identifier: { type: 'm.id.user', user: 'Alice' },
				password,
			});
		const statuses: number[] = [];
		for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
			statuses.push((await login(ip, 'wrong')).status);
		statuses.push((await login('10.0.0.4', 'right')).status);
		expect(statuses).toEqual([403, 403, 403, 429]);
	});

	test('429 bodies: no Retry-After by default (1.67); header and the ≥ 1.108 pause when asked for', async () => {
		const clock = manualClock();
		hs = await startFakeHomeserver({
			clock,
			rateLimits: { message: { perSecond: 0.2, burst: 1 } },
		});
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const send = (txn: string) =>
			as(hs, bot.accessToken)(
				'PUT',
				`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`,
				{
					msgtype: 'm.notice',
					body: txn,
				},
			);
		await send('a');
		const plain = await send('b');
		expect([plain.status, plain.body, plain.headers.get('retry-after')]).toEqual([
			429,
			{ errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 5000 },
			null,
		]);
		hs.retryAfterHeader = true;
		hs.rateLimitedPauseMs = 500;
		const before = clock.now();
		const modern = await send('c');
		expect([modern.status, modern.headers.get('retry-after')]).toEqual([429, '5']);
		// The pause comes after the check, so retry_after_ms was computed before it (server.py).
		expect(modern.body.retry_after_ms).toBe(5000);
		expect(clock.now() - before).toBe(500);
	});

	test('admin override_ratelimit (rest/admin/users.py RateLimitRestServlet): admins only; 0/0 lifts every requester limiter; non-zero only replaces rc_message', async () => {
		hs = await startFakeHomeserver({
			clock: manualClock(),
			rateLimits: {
				message: { perSecond: 0.2, burst: 1 },
				invitesPerIssuer: { perSecond: 0.3, burst: 2 },
			},
		});
		const admin = hs.createUser('admin', { admin: true });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const path = (user: string) => `/_synapse/admin/v1/users/${enc(user)}/override_ratelimit`;
		const asAdmin = as(hs, admin.accessToken);
		const asBot = as(hs, bot.accessToken);
		expect(await asBot('POST', path(bot.userId), {}).then((r) => [r.status, r.body])).toEqual([
			403,
			{ errcode: 'M_FORBIDDEN', error: 'You are not a server admin' },
		]);
		expect((await asAdmin('GET', path(bot.userId))).body).toEqual({});
		expect((await asAdmin('POST', path('@x:elsewhere.example'), {})).status).toBe(400);
		expect((await asAdmin('POST', path('@nobody:localhost'), {})).status).toBe(404);
		expect(
			(await asAdmin('POST', path(bot.userId), { messages_per_second: -1 })).body.errcode,
		).toBe('M_INVALID_PARAM');

		// Non-zero: rc_message follows the override, the invite limiters stay.
		expect(
			(await asAdmin('POST', path(bot.userId), { messages_per_second: 100, burst_count: 100 }))
				.body,
		).toEqual({
			messages_per_second: 100,
			burst_count: 100,
		});
		const invite = (user: string) =>
			asBot('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: user });
		expect([
			(await invite('@a:localhost')).status,
			(await invite('@b:localhost')).status,
			(await invite('@c:localhost')).status,
		]).toEqual([200, 200, 429]);

		// 0/0 (the default body): every limiter that is checked with a requester lets the bot pass.
		expect((await asAdmin('POST', path(bot.userId))).body).toEqual({
			messages_per_second: 0,
			burst_count: 0,
		});
		const many: number[] = [];
		for (let i = 0; i < 20; i++) many.push((await invite(`@many${i}:localhost`)).status);
		expect(many).toEqual(Array(20).fill(200));
		expect((await asAdmin('GET', path(bot.userId))).body).toEqual({
			messages_per_second: 0,
			burst_count: 0,
		});
		expect((await asAdmin('DELETE', path(bot.userId))).status).toBe(200);
		expect((await invite('@after:localhost')).status).toBe(429);
	});
});

describe('fake homeserver: transaction IDs (rest/client/transactions.py, event_txn_id)', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs?.stop());

	async function setUp(scope?: 'accessToken' | 'device') {
		const clock = manualClock();
		hs = await startFakeHomeserver({ clock, rateLimits: false, transactionScope: scope });
		const bot = hs.createUser('bot', { password: 'pw' });
		const roomId = hs.createRoom({ creator: bot.userId });
		const login = async () =>
			String(
				(
					await as(hs)('POST', '/_matrix/client/v3/login', {
						type: 'm.login.password',
						identifier: { type: 'm.id.user', user: 'bot' },
						password: 'pw',
						device_id: 'BOTDEVICE',
					})
				).body.access_token,
			);
		const send = (token: string, txn: string, version = 'v3') =>
			as(hs, token)(
				'PUT',
				`/_matrix/client/${version}/rooms/${enc(roomId)}/send/m.room.message/${txn}`,
				{ msgtype: 'm.notice', body: 'hello' },
			);
		return { clock, roomId, login, send };
	}

	test('1.67: the same path and access token answer the same event; a new token on the same device posts again', async () => {
		const { roomId, login, send } = await setUp();
		const first = await login();
		const a = await send(first, 'txn-1');
		expect((await send(first, 'txn-1')).body.event_id).toBe(a.body.event_id);
		const second = await login();
		const b = await send(second, 'txn-1');
		expect(b.body.event_id).not.toBe(a.body.event_id);
		expect(hs.timeline(roomId, 'm.room.message')).toHaveLength(2);
	});

	test('HEAD (MSC3970): keyed by device, so a re-login on the same device is the same transaction', async () => {
		const { roomId, login, send } = await setUp('device');
		const a = await send(await login(), 'txn-1');
		const b = await send(await login(), 'txn-1');
		expect(b.body.event_id).toBe(a.body.event_id);
		expect(hs.timeline(roomId, 'm.room.message')).toHaveLength(1);
	});

	test('the HTTP cache forgets after 30 minutes, the room keeps the txn → event for 24 hours', async () => {
		const { clock, roomId, login, send } = await setUp();
		const token = await login();
		const a = await send(token, 'txn-1');
		// Another path (r0) misses the HTTP cache but the room's event_txn_id still knows the event.
		expect((await send(token, 'txn-1', 'r0')).body.event_id).toBe(a.body.event_id);
		clock.advance(31 * 60_000);
		expect((await send(token, 'txn-1')).body.event_id).toBe(a.body.event_id);
		clock.advance(24 * 60 * 60_000);
		expect((await send(token, 'txn-1')).body.event_id).not.toBe(a.body.event_id);
		expect(hs.timeline(roomId, 'm.room.message')).toHaveLength(2);
	});

	test('errors are not cached: a 429 for a txn id, then the same txn id succeeds', async () => {
		const clock = manualClock();
		hs = await startFakeHomeserver({
			clock,
			rateLimits: { message: { perSecond: 0.2, burst: 1 } },
		});
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const send = (txn: string) =>
			as(hs, bot.accessToken)(
				'PUT',
				`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`,
				{
					msgtype: 'm.notice',
					body: txn,
				},
			);
		expect((await send('a')).status).toBe(200);
		expect((await send('b')).status).toBe(429);
		clock.advance(5000);
		expect((await send('b')).status).toBe(200);
		expect(hs.timeline(roomId, 'm.room.message')).toHaveLength(2);
	});
});
