/**
 * The fake homeserver's room-version power rules (room-versions.ts), each checked against the
 * Synapse rule it copies.
 */
import { startFakeHomeserver, type FakeHomeserver } from '.';

describe('fake homeserver: room versions and power', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	async function call(token: string, method: string, path: string, body?: unknown) {
		const res = await fetch(`${hs.url}/_matrix/client/v3${path}`, {
			method,
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return { status: res.status, body: (await res.json()) as Record<string, unknown> };
	}

	test('v12 create event (Synapse room_versions v12, handlers/room.py): no content.creator, additional_creators kept, creators not in users', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const alice = hs.createUser('alice');
		const roomId = hs.createRoom({
			creator: alice.userId,
			roomVersion: '12',
			additionalCreators: ['@bob:localhost'],
		});
		const create = await call(
			alice.accessToken,
			'GET',
			`/rooms/${encodeURIComponent(roomId)}/state/m.room.create/`,
		);
		expect(create.body).toEqual({ room_version: '12', additional_creators: ['@bob:localhost'] });
		const levels = await call(
			alice.accessToken,
			'GET',
			`/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`,
		);
		expect(levels.body.users).toEqual({});
	});

	test('?format=event answers the whole state event (Synapse RoomStateEventRestServlet.on_GET)', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const alice = hs.createUser('alice');
		const roomId = hs.createRoom({ creator: alice.userId });
		const create = await call(
			alice.accessToken,
			'GET',
			`/rooms/${encodeURIComponent(roomId)}/state/m.room.create/?format=event`,
		);
		expect(create.body).toMatchObject({
			type: 'm.room.create',
			sender: alice.userId,
			state_key: '',
			content: { room_version: '10', creator: alice.userId },
		});
	});

	test('MSC4289 (Synapse event_auth get_user_power_level): a v12 creator kicks without a users entry; nobody kicks a creator', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const alice = hs.createUser('alice');
		const bob = hs.createUser('bob');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({
			creator: alice.userId,
			roomVersion: '12',
			additionalCreators: [bob.userId],
			members: [bob.userId, mod.userId],
			powerLevels: { users: { [mod.userId]: 100 } },
		});
		const kickCreator = await call(
			mod.accessToken,
			'POST',
			`/rooms/${encodeURIComponent(roomId)}/kick`,
			{ user_id: bob.userId },
		);
		expect(kickCreator.status).toBe(403);
		const kickMod = await call(
			alice.accessToken,
			'POST',
			`/rooms/${encodeURIComponent(roomId)}/kick`,
			{ user_id: mod.userId },
		);
		expect(kickMod.status).toBe(200);
		expect(hs.membership(roomId, bob.userId)).toBe('join');
	});

	test('no power-levels event (Synapse get_user_power_level / get_named_level): creator 100 may kick; others 0 may invite (default 0) but not kick (default 50)', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const alice = hs.createUser('alice');
		const bob = hs.createUser('bob');
		hs.createUser('carol');
		const roomId = hs.createRoom({
			creator: alice.userId,
			withoutPowerLevels: true,
			members: [bob.userId],
		});
		const missing = await call(
			alice.accessToken,
			'GET',
			`/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`,
		);
		expect(missing.status).toBe(404);
		expect(
			(
				await call(bob.accessToken, 'POST', `/rooms/${encodeURIComponent(roomId)}/invite`, {
					user_id: '@carol:localhost',
				})
			).status,
		).toBe(200);
		expect(
			(
				await call(bob.accessToken, 'POST', `/rooms/${encodeURIComponent(roomId)}/kick`, {
					user_id: '@carol:localhost',
				})
			).status,
		).toBe(403);
		expect(
			(
				await call(alice.accessToken, 'POST', `/rooms/${encodeURIComponent(roomId)}/kick`, {
					user_id: bob.userId,
				})
			).status,
		).toBe(200);
	});
});
