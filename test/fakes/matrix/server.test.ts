import { manualClock, startFakeHomeserver, type FakeHomeserver } from './index';

type Call = {
	status: number;
	body: Record<string, unknown> & { errcode?: string; error?: string };
	headers: Headers;
};

function client(hs: FakeHomeserver, token?: string) {
	return async (method: string, path: string, body?: unknown, rawBody?: string): Promise<Call> => {
		const headers: Record<string, string> = {};
		if (token) headers.Authorization = `Bearer ${token}`;
		if (body !== undefined || rawBody !== undefined) headers['Content-Type'] = 'application/json';
		const response = await fetch(`${hs.url}/_matrix/client${path}`, {
			method,
			headers,
			body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
		});
		return {
			status: response.status,
			body: (await response.json()) as Call['body'],
			headers: response.headers,
		};
	};
}

const enc = encodeURIComponent;

describe('fake homeserver: documented responses', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let alice: ReturnType<FakeHomeserver['createUser']>;
	let roomId: string;
	let call: ReturnType<typeof client>;

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot', { password: 'secret' });
		alice = hs.createUser('alice', { password: 'pw' });
		roomId = hs.createRoom({ creator: bot.userId, alias: '#testroom:localhost', name: 'Test' });
		call = client(hs, bot.accessToken);
	});
	afterEach(() => hs.stop());

	test('versions needs no auth; unknown endpoints are M_UNRECOGNIZED', async () => {
		const versions = await client(hs)('GET', '/versions');
		expect(versions.status).toBe(200);
		expect(versions.body.versions).toEqual(expect.arrayContaining(['r0.6.1', 'v1.1', 'v1.2']));
		const unknown = await call('GET', '/v3/nope');
		expect([unknown.status, unknown.body]).toEqual([
			404,
			{ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' },
		]);
	});

	test('auth errors: missing and invalid tokens', async () => {
		const missing = await client(hs)('GET', '/v3/account/whoami');
		expect([missing.status, missing.body]).toEqual([
			401,
			{ errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
		]);
		const bad = await client(hs, 'syt_bogus')('GET', '/v3/account/whoami');
		expect([bad.status, bad.body]).toEqual([
			401,
			{ errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false },
		]);
		const ok = await call('GET', '/v3/account/whoami');
		expect(ok.body).toEqual({
			user_id: '@bot:localhost',
			is_guest: false,
			device_id: bot.deviceId,
		});
	});

	test('login: flows, password login, bad password; re-login on a known device keeps its old token (handlers/device.py check_device_registered)', async () => {
		const anon = client(hs);
		expect((await anon('GET', '/v3/login')).body).toEqual({
			flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }],
		});
		const bad = await anon('POST', '/v3/login', {
			type: 'm.login.password',
			identifier: { type: 'm.id.user', user: 'bot' },
			password: 'nope',
		});
		expect([bad.status, bad.body]).toEqual([
			403,
			{ errcode: 'M_FORBIDDEN', error: 'Invalid username or password' },
		]);
		const first = await anon('POST', '/v3/login', {
			type: 'm.login.password',
			identifier: { type: 'm.id.user', user: 'BOT' },
			password: 'secret',
			device_id: 'BOTDEVICE',
		});
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({
			user_id: '@bot:localhost',
			device_id: 'BOTDEVICE',
			home_server: 'localhost',
		});
		const devicesBefore = hs.deviceCount('@bot:localhost');
		const second = await anon('POST', '/v3/login', {
			type: 'm.login.password',
			user: '@bot:localhost',
			password: 'secret',
			device_id: 'BOTDEVICE',
		});
		expect(second.body.device_id).toBe('BOTDEVICE');
		expect(hs.deviceCount('@bot:localhost')).toBe(devicesBefore);
		// Synapse reuses the device and mints one more token; nothing revokes the first (was: 401).
		expect(second.body.access_token).not.toBe(first.body.access_token);
		for (const token of [first.body.access_token, second.body.access_token])
			expect((await client(hs, String(token))('GET', '/v3/account/whoami')).body.device_id).toBe(
				'BOTDEVICE',
			);
		// Logging out the device ends every session on it.
		await client(hs, String(second.body.access_token))('POST', '/v3/logout', {});
		expect(
			(await client(hs, String(first.body.access_token))('GET', '/v3/account/whoami')).status,
		).toBe(401);
	});

	test('login is rate limited (Synapse 1.67: rc_login 0.17/s, burst 3)', async () => {
		hs.setRateLimits({});
		const anon = client(hs);
		const statuses: number[] = [];
		for (let i = 0; i < 4; i++) {
			statuses.push(
				(
					await anon('POST', '/v3/login', {
						type: 'm.login.password',
						identifier: { type: 'm.id.user', user: 'alice' },
						password: 'pw',
					})
				).status,
			);
		}
		expect(statuses).toEqual([200, 200, 200, 429]);
	});

	test('alias resolution and join (alias, room id, errors)', async () => {
		const resolved = await call('GET', `/v3/directory/room/${enc('#testroom:localhost')}`);
		expect(resolved.body).toEqual({ room_id: roomId, servers: ['localhost'] });
		const missing = await call('GET', `/v3/directory/room/${enc('#nope:localhost')}`);
		expect([missing.status, missing.body]).toEqual([
			404,
			{ errcode: 'M_NOT_FOUND', error: 'Room alias #nope:localhost not found' },
		]);
		const aliceCall = client(hs, alice.accessToken);
		const notInvited = await aliceCall('POST', `/v3/join/${enc(roomId)}`, {});
		expect([notInvited.status, notInvited.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
		const unknown = await aliceCall('POST', `/v3/join/${enc('!nope:localhost')}`, {});
		expect([unknown.status, unknown.body]).toEqual([
			404,
			{
				errcode: 'M_UNKNOWN',
				error: "Can't join remote room because no servers that are in the room have been provided.",
			},
		]);
		expect(
			(await aliceCall('POST', `/v3/join/${enc('#nope:localhost')}?via=localhost`, {})).body.error,
		).toBe('Room alias #nope:localhost not found');
		await call('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: alice.userId });
		const joined = await aliceCall(
			'POST',
			`/v3/join/${enc('#testroom:localhost')}?via=localhost`,
			{},
		);
		expect(joined.body).toEqual({ room_id: roomId });
		expect(hs.membership(roomId, alice.userId)).toBe('join');
	});

	test('invite: every outcome of the reference table', async () => {
		const invite = (userId: unknown, room = roomId) =>
			call('POST', `/v3/rooms/${enc(room)}/invite`, { user_id: userId });
		hs.createUser('carol');
		hs.createUser('@remote:other.example');
		const banned = hs.createUser('mallory').userId;
		hs.setMembership(roomId, banned, 'ban', { sender: bot.userId });
		hs.setMembership(roomId, alice.userId, 'join');

		expect(await invite('@carol:localhost').then((r) => [r.status, r.body])).toEqual([200, {}]);
		expect(await invite('@carol:localhost').then((r) => [r.status, r.body])).toEqual([200, {}]);
		expect(hs.inviteCount(roomId, '@carol:localhost')).toBe(2);
		expect(await invite(alice.userId).then((r) => [r.status, r.body])).toEqual([
			403,
			{ errcode: 'M_FORBIDDEN', error: '@alice:localhost is already in the room.' },
		]);
		expect(await invite('@nosuchuser:localhost').then((r) => r.status)).toBe(200);
		expect(hs.membership(roomId, '@nosuchuser:localhost')).toBe('invite');
		expect(await invite(banned).then((r) => [r.status, r.body])).toEqual([
			403,
			{ errcode: 'M_BAD_STATE', error: 'Cannot invite user who was banned' },
		]);
		expect(
			await invite('@carol:localhost', '!nope:localhost').then((r) => [r.status, r.body]),
		).toEqual([403, { errcode: 'M_FORBIDDEN', error: 'Unknown room' }]);
		expect(
			await invite('@carol:localhost', '#testroom:localhost').then((r) => [r.status, r.body]),
		).toEqual([403, { errcode: 'M_FORBIDDEN', error: 'Unknown room' }]);
		for (const bad of ['alice', 'alice:localhost', '']) {
			expect(await invite(bad).then((r) => [r.status, r.body])).toEqual([
				400,
				{ errcode: 'M_INVALID_PARAM', error: "Expected UserID string to start with '@'" },
			]);
		}
		expect(await invite('@alice').then((r) => [r.status, r.body])).toEqual([
			400,
			{ errcode: 'M_INVALID_PARAM', error: "Expected UserID of the form '@localname:domain'" },
		]);
		expect(await invite('@alice:local host').then((r) => [r.status, r.body])).toEqual([
			403,
			{ errcode: 'M_FORBIDDEN', error: 'Federation denied with local host.' },
		]);
		expect(await invite('@a:[::1').then((r) => r.body.error)).toBe('Federation denied with [::1.');
		expect(await invite('@alice:localhost:99999999').then((r) => [r.status, r.body])).toEqual([
			502,
			{ errcode: 'M_UNKNOWN', error: "Can't connect to server localhost:99999999" },
		]);
		expect(await invite('@someone:nonexistent.invalid').then((r) => [r.status, r.body])).toEqual([
			502,
			{ errcode: 'M_UNKNOWN', error: "Can't connect to server nonexistent.invalid" },
		]);
		expect(await invite('@remote:other.example').then((r) => r.status)).toBe(200);
		expect(await invite(5).then((r) => [r.status, r.body])).toEqual([
			500,
			{ errcode: 'M_UNKNOWN', error: 'Internal server error' },
		]);
		const empty = await call('POST', `/v3/rooms/${enc(roomId)}/invite`, {});
		expect([empty.status, empty.body]).toEqual([
			400,
			{ errcode: 'M_MISSING_PARAM', error: "Missing params: ['user_id']" },
		]);
		const notJson = await call('POST', `/v3/rooms/${enc(roomId)}/invite`, undefined, '{nope');
		expect([notJson.status, notJson.body.errcode]).toEqual([400, 'M_NOT_JSON']);
		hs.createUser('blocker');
		hs.blockInvites('@blocker:localhost');
		expect(await invite('@blocker:localhost').then((r) => [r.status, r.body.errcode])).toEqual([
			403,
			'M_INVITE_BLOCKED',
		]);

		// Inviter not in the room, and power too low.
		const bob = hs.createUser('bob');
		const asBob = client(hs, bob.accessToken);
		expect(
			await asBob('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: '@carol:localhost' }).then(
				(r) => [r.status, r.body],
			),
		).toEqual([403, { errcode: 'M_FORBIDDEN', error: `@bob:localhost not in room ${roomId}.` }]);
		hs.setMembership(roomId, bob.userId, 'join');
		hs.setPowerLevels(roomId, { invite: 50 });
		expect(
			await asBob('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: '@carol:localhost' }).then(
				(r) => [r.status, r.body],
			),
		).toEqual([
			403,
			{ errcode: 'M_FORBIDDEN', error: "You don't have permission to invite users" },
		]);
	});

	test('unreachable remote servers answer 502 after the configured delay (homeserver clock)', async () => {
		await hs.stop();
		const clock = manualClock();
		hs = await startFakeHomeserver({ rateLimits: false, clock, unreachableDelayMs: 3_800 });
		bot = hs.createUser('bot');
		roomId = hs.createRoom({ creator: bot.userId });
		const r = await client(hs, bot.accessToken)('POST', `/v3/rooms/${enc(roomId)}/invite`, {
			user_id: '@x:127.0.0.1:1',
		});
		expect([r.status, r.body.error]).toEqual([502, "Can't connect to server 127.0.0.1:1"]);
		expect(clock.now()).toBe(3_800);
	});

	test('kick withdraws an invite and removes a member; ban and unban', async () => {
		hs.createUser('carol');
		await call('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: '@carol:localhost' });
		expect(
			(
				await call('POST', `/v3/rooms/${enc(roomId)}/kick`, {
					user_id: '@carol:localhost',
					reason: 'order cancelled',
				})
			).status,
		).toBe(200);
		expect(hs.membership(roomId, '@carol:localhost')).toBe('leave');
		const again = await call('POST', `/v3/rooms/${enc(roomId)}/kick`, {
			user_id: '@carol:localhost',
		});
		expect([again.status, again.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
		hs.setMembership(roomId, alice.userId, 'join');
		expect(
			(await call('POST', `/v3/rooms/${enc(roomId)}/kick`, { user_id: alice.userId })).status,
		).toBe(200);
		const members = await call('GET', `/v3/rooms/${enc(roomId)}/members?membership=leave`);
		const leaveEvent = (
			members.body.chunk as Array<{ state_key: string; content: Record<string, unknown> }>
		).find((e) => e.state_key === '@carol:localhost');
		expect(leaveEvent?.content).toEqual({ membership: 'leave', reason: 'order cancelled' });
		expect(
			(await call('POST', `/v3/rooms/${enc(roomId)}/ban`, { user_id: alice.userId })).status,
		).toBe(200);
		expect(hs.membership(roomId, alice.userId)).toBe('ban');
		expect(
			(await call('POST', `/v3/rooms/${enc(roomId)}/unban`, { user_id: alice.userId })).status,
		).toBe(200);
		expect(hs.membership(roomId, alice.userId)).toBe('leave');
		// A moderator cannot kick someone of equal power.
		const mod = hs.createUser('mod');
		hs.setMembership(roomId, mod.userId, 'join');
		hs.setPowerLevel(roomId, mod.userId, 50);
		const kickBot = await client(hs, mod.accessToken)('POST', `/v3/rooms/${enc(roomId)}/kick`, {
			user_id: bot.userId,
		});
		expect([kickBot.status, kickBot.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
	});

	test('members, joined_members, state and member state', async () => {
		hs.setMembership(roomId, alice.userId, 'join');
		hs.createUser('carol');
		await call('POST', `/v3/rooms/${enc(roomId)}/invite`, {
			user_id: '@carol:localhost',
			reason: 'welcome',
		});
		const invited = await call('GET', `/v3/rooms/${enc(roomId)}/members?membership=invite`);
		const chunk = invited.body.chunk as Array<Record<string, unknown>>;
		expect(chunk).toHaveLength(1);
		expect(chunk[0]).toMatchObject({
			type: 'm.room.member',
			room_id: roomId,
			sender: bot.userId,
			state_key: '@carol:localhost',
			content: { membership: 'invite', reason: 'welcome', displayname: 'carol' },
		});
		expect(String(chunk[0].event_id)).toMatch(/^\$/);
		const notJoined = await call('GET', `/v3/rooms/${enc(roomId)}/members?not_membership=join`);
		expect((notJoined.body.chunk as unknown[]).length).toBe(1);
		const joined = await call('GET', `/v3/rooms/${enc(roomId)}/joined_members`);
		expect(joined.body).toEqual({
			joined: {
				'@bot:localhost': { avatar_url: null, display_name: 'bot' },
				'@alice:localhost': { avatar_url: null, display_name: 'alice' },
			},
		});
		const member = await call(
			'GET',
			`/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(alice.userId)}`,
		);
		expect(member.body).toEqual({ membership: 'join', displayname: 'alice' });
		const never = await call(
			'GET',
			`/v3/rooms/${enc(roomId)}/state/m.room.member/${enc('@never:localhost')}`,
		);
		expect([never.status, never.body]).toEqual([
			404,
			{ errcode: 'M_NOT_FOUND', error: 'Event not found.' },
		]);
		const pl = await call('GET', `/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`);
		expect(pl.body).toMatchObject({
			users: { '@bot:localhost': 100 },
			users_default: 0,
			state_default: 50,
			ban: 50,
			kick: 50,
			redact: 50,
			invite: 0,
			historical: 100,
		});
		const all = await call('GET', `/v3/rooms/${enc(roomId)}/state`);
		expect(Array.isArray(all.body)).toBe(true);
		const outsider = hs.createUser('outsider');
		const denied = await client(hs, outsider.accessToken)(
			'GET',
			`/v3/rooms/${enc(roomId)}/joined_members`,
		);
		expect([denied.status, denied.body.error]).toEqual([
			403,
			`User @outsider:localhost not in room ${roomId}, and room previews are disabled`,
		]);
		expect((await call('GET', '/v3/joined_rooms')).body).toEqual({ joined_rooms: [roomId] });
	});

	test('setState: encryption and tombstone state read back like any state event (spec "m.room.encryption", "m.room.tombstone")', async () => {
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		hs.setState(roomId, 'm.room.tombstone', { body: 'moved', replacement_room: '!new:localhost' });
		const encryption = await call('GET', `/v3/rooms/${enc(roomId)}/state/m.room.encryption/`);
		expect([encryption.status, encryption.body]).toEqual([200, { algorithm: 'm.megolm.v1.aes-sha2' }]);
		const tombstone = await call('GET', `/v3/rooms/${enc(roomId)}/state/m.room.tombstone`);
		expect(tombstone.body).toEqual({ body: 'moved', replacement_room: '!new:localhost' });
		expect(hs.roomState(roomId).filter((e) => e.type === 'm.room.tombstone')).toEqual([
			expect.objectContaining({ sender: bot.userId, state_key: '', content: tombstone.body }),
		]);
	});

	test('send is idempotent per transaction id', async () => {
		const path = `/v3/rooms/${enc(roomId)}/send/m.room.message/txn-1`;
		const first = await call('PUT', path, { msgtype: 'm.notice', body: 'hello' });
		const second = await call('PUT', path, { msgtype: 'm.notice', body: 'hello' });
		expect(first.status).toBe(200);
		expect(second.body.event_id).toBe(first.body.event_id);
		const third = await call('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/txn-2`, {
			msgtype: 'm.notice',
			body: 'hello',
		});
		expect(third.body.event_id).not.toBe(first.body.event_id);
		expect(hs.timeline(roomId, 'm.room.message')).toHaveLength(2);
		const outsider = await client(hs, alice.accessToken)(
			'PUT',
			`/v3/rooms/${enc(roomId)}/send/m.room.message/t`,
			{ msgtype: 'm.text', body: 'x' },
		);
		expect([outsider.status, outsider.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
	});

	test('GET /rooms/{roomId}/event/{eventId} (RoomEventServlet): members read the event; unknown or not visible is 404 M_NOT_FOUND alike', async () => {
		const root = hs.say(bot.userId, roomId, 'root');
		const reply = hs.say(bot.userId, roomId, 'in thread', { thread: root });
		const got = await call('GET', `/v3/rooms/${enc(roomId)}/event/${enc(reply)}`);
		expect(got.status).toBe(200);
		expect(got.body).toMatchObject({
			event_id: reply,
			room_id: roomId,
			sender: bot.userId,
			content: { 'm.relates_to': { rel_type: 'm.thread', event_id: root } },
		});
		const missing = await call('GET', `/v3/rooms/${enc(roomId)}/event/${enc('$nope')}`);
		const hidden = await client(hs, alice.accessToken)('GET', `/v3/rooms/${enc(roomId)}/event/${enc(reply)}`);
		for (const answer of [missing, hidden])
			expect([answer.status, answer.body]).toEqual([404, { errcode: 'M_NOT_FOUND', error: 'Event not found.' }]);
	});

	test('profile: existing, unknown, malformed, unreachable', async () => {
		expect((await call('GET', `/v3/profile/${enc(alice.userId)}`)).body).toEqual({
			displayname: 'alice',
		});
		const unknown = await call('GET', `/v3/profile/${enc('@Alice:localhost')}`);
		expect([unknown.status, unknown.body]).toEqual([
			404,
			{ errcode: 'M_NOT_FOUND', error: 'Profile was not found' },
		]);
		const malformed = await call('GET', '/v3/profile/alice');
		expect([malformed.status, malformed.body]).toEqual([
			400,
			{ errcode: 'M_INVALID_PARAM', error: 'Invalid user id' },
		]);
		const remote = await call('GET', `/v3/profile/${enc('@x:nonexistent.invalid')}`);
		expect([remote.status, remote.body]).toEqual([
			502,
			{ errcode: 'M_UNKNOWN', error: 'Failed to fetch profile' },
		]);
	});

	test('filters and /sync: initial, incremental, invites, leave, long-poll', async () => {
		const filter = await call('POST', `/v3/user/${enc(bot.userId)}/filter`, {
			room: { timeline: { limit: 2, types: ['m.room.message'] } },
		});
		expect(filter.body).toEqual({ filter_id: '0' });
		expect((await call('GET', `/v3/user/${enc(bot.userId)}/filter/0`)).body).toEqual({
			room: { timeline: { limit: 2, types: ['m.room.message'] } },
		});
		expect((await call('GET', `/v3/user/${enc(bot.userId)}/filter/9`)).status).toBe(404);
		hs.setMembership(roomId, alice.userId, 'join');
		for (const text of ['one', 'two', 'three']) hs.say(alice.userId, roomId, text);
		const initial = await call('GET', '/v3/sync?filter=0&timeout=0');
		const room = (initial.body.rooms as any).join[roomId];
		expect(room.timeline.events.map((e: any) => e.content.body)).toEqual(['two', 'three']);
		expect(room.timeline.limited).toBe(true);
		expect(room.timeline.events[0].room_id).toBeUndefined();
		expect(room.state.events.some((e: any) => e.type === 'm.room.create')).toBe(true);

		const since = String(initial.body.next_batch);
		const started = Date.now();
		const idle = await call('GET', `/v3/sync?filter=0&timeout=200&since=${since}`);
		expect(Date.now() - started).toBeGreaterThanOrEqual(180);
		expect((idle.body.rooms as any).join).toEqual({});

		const pending = call('GET', `/v3/sync?filter=0&timeout=10000&since=${since}`);
		setTimeout(() => hs.say(alice.userId, roomId, '!status'), 50);
		const woke = await pending;
		expect(
			(woke.body.rooms as any).join[roomId].timeline.events.map((e: any) => e.content.body),
		).toEqual(['!status']);

		const other = hs.createRoom({ creator: alice.userId, name: 'Other' });
		hs.setMembership(other, bot.userId, 'invite', { sender: alice.userId, reason: 'please join' });
		const invited = await call(
			'GET',
			`/v3/sync?filter=0&timeout=0&since=${String(woke.body.next_batch)}`,
		);
		const inviteState = (invited.body.rooms as any).invite[other].invite_state.events;
		expect(inviteState[inviteState.length - 1]).toMatchObject({
			type: 'm.room.member',
			state_key: bot.userId,
			sender: alice.userId,
			content: { membership: 'invite', reason: 'please join' },
		});
		expect(
			inviteState.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Other'),
		).toBe(true);

		hs.setMembership(roomId, bot.userId, 'leave', { sender: alice.userId });
		const left = await call(
			'GET',
			`/v3/sync?filter=0&timeout=0&since=${String(invited.body.next_batch)}`,
		);
		expect(Object.keys((left.body.rooms as any).leave)).toEqual([roomId]);
		const badSince = await call('GET', '/v3/sync?since=garbage');
		expect([badSince.status, badSince.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
	});

	test('own sends carry unsigned.transaction_id in /sync', async () => {
		const first = await call('GET', '/v3/sync?timeout=0');
		await call('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/abc`, {
			msgtype: 'm.notice',
			body: 'hi',
		});
		const next = await call('GET', `/v3/sync?timeout=0&since=${String(first.body.next_batch)}`);
		const events = (next.body.rooms as any).join[roomId].timeline.events;
		expect(events[events.length - 1].unsigned.transaction_id).toBe('abc');
	});
});

describe('fake homeserver: rate limits and faults', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	test('invite 429 carries retry_after_ms; Retry-After only when asked for (issuer bucket)', async () => {
		// synapse/api/errors.py LimitExceededError: 1.67 answers the body only; ≥ 1.103 adds the header.
		const clock = manualClock();
		hs = await startFakeHomeserver({
			clock,
			retryAfterHeader: true,
			rateLimits: {
				invitesPerIssuer: { perSecond: 1, burst: 3 },
				invitesPerRoom: false,
				message: false,
			},
		});
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const call = client(hs, bot.accessToken);
		const results: Call[] = [];
		for (let i = 0; i < 3; i++) {
			results.push(
				await call('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: `@u${i}:localhost` }),
			);
			clock.advance(100);
		}
		results.push(
			await call('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: '@u3:localhost' }),
		);
		expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429]);
		const limited = results[3];
		// Three actions since t=0 at 1/s: the fourth fits at t=1 s, 700 ms after this one (t=0.3 s).
		expect(limited.body).toEqual({
			errcode: 'M_LIMIT_EXCEEDED',
			error: 'Too Many Requests',
			retry_after_ms: 700,
		});
		expect(limited.headers.get('retry-after')).toBe('1');
		// Malformed ids are rejected at parse time and cost no token.
		expect(
			(await call('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: 'nope' })).status,
		).toBe(400);
		clock.advance(700);
		expect(
			(await call('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: '@u9:localhost' })).status,
		).toBe(200);
		expect(hs.countRequests({ path: /\/invite$/, status: 429 })).toBe(1);
	});

	test('per-invitee limit (Synapse default 0.003/s burst 5) and the 1.67 header-less default', async () => {
		hs = await startFakeHomeserver({
			rateLimits: { invitesPerIssuer: false, invitesPerRoom: false, message: false },
		});
		const bot = hs.createUser('bot');
		const call = client(hs, bot.accessToken);
		const statuses: number[] = [];
		let last: Call | undefined;
		for (let i = 0; i < 7; i++) {
			const room = hs.createRoom({ creator: bot.userId });
			last = await call('POST', `/v3/rooms/${enc(room)}/invite`, { user_id: '@alice:localhost' });
			statuses.push(last.status);
		}
		expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
		expect(Number(last!.body.retry_after_ms)).toBeGreaterThan(330_000);
		expect(last!.headers.get('retry-after')).toBeNull();
	});

	test('exempt users (override_ratelimit 0/0) skip every limiter checked with a requester', async () => {
		hs = await startFakeHomeserver({
			rateLimits: { invitesPerIssuer: { perSecond: 0.1, burst: 1 } },
		});
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		hs.exemptFromRateLimits(bot.userId);
		const call = client(hs, bot.accessToken);
		for (let i = 0; i < 5; i++)
			expect(
				(await call('POST', `/v3/rooms/${enc(roomId)}/invite`, { user_id: `@u${i}:localhost` }))
					.status,
			).toBe(200);
	});

	test('messages are rate limited but a repeated txn id is answered from the cache', async () => {
		hs = await startFakeHomeserver({ rateLimits: { message: { perSecond: 0.2, burst: 2 } } });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId });
		const call = client(hs, bot.accessToken);
		const send = (txn: string) =>
			call('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, {
				msgtype: 'm.notice',
				body: 'x',
			});
		expect((await send('a')).status).toBe(200);
		expect((await send('b')).status).toBe(200);
		expect((await send('c')).status).toBe(429);
		expect((await send('a')).status).toBe(200);
	});

	test('fault injection: failNext, error rate, latency, down (refuse and reset)', async () => {
		hs = await startFakeHomeserver({ rateLimits: false, seed: 7 });
		const bot = hs.createUser('bot');
		const call = client(hs, bot.accessToken);
		hs.failNext(1, { status: 503, path: /whoami/ });
		expect((await call('GET', '/v3/account/whoami')).status).toBe(503);
		expect((await call('GET', '/v3/account/whoami')).status).toBe(200);

		hs.setFaults({ errorRate: 0.5 });
		const statuses: number[] = [];
		for (let i = 0; i < 40; i++) statuses.push((await call('GET', '/v3/account/whoami')).status);
		const failed = statuses.filter((s) => s === 500).length;
		expect(failed).toBeGreaterThan(8);
		expect(failed).toBeLessThan(32);
		hs.setFaults({ latencyMs: 120 });
		const started = Date.now();
		await call('GET', '/v3/account/whoami');
		expect(Date.now() - started).toBeGreaterThanOrEqual(110);
		hs.setFaults({});

		await hs.setDown('refuse');
		// The first attempt may hit a pooled keep-alive socket that was just destroyed.
		await expect(call('GET', '/v3/account/whoami')).rejects.toThrow();
		type NetError = { cause?: { code?: string; errors?: Array<{ code?: string }> } };
		const refused = (await call('GET', '/v3/account/whoami').catch((e: unknown) => e)) as NetError;
		expect(refused.cause?.code ?? refused.cause?.errors?.[0]?.code).toBe('ECONNREFUSED');
		await hs.setDown('reset');
		await expect(call('GET', '/v3/account/whoami')).rejects.toThrow();
		await hs.setDown(false);
		expect((await call('GET', '/v3/account/whoami')).status).toBe(200);
		expect(hs.countRequests({ path: /whoami/ })).toBeGreaterThan(40);
	});
});
