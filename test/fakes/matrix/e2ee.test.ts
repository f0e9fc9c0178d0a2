/**
 * The fake homeserver's E2EE endpoints (e2ee.ts), one test per Synapse rule, each naming the
 * Synapse source it copies; the last one runs two real matrix-js-sdk clients with Rust crypto.
 */
import { startCryptoClient, type CryptoClient } from './crypto-client';
import { startFakeHomeserver, type FakeHomeserver } from './index';

type Call = { status: number; body: Record<string, any> };

function client(hs: FakeHomeserver, token: string) {
	return async (method: string, path: string, body?: unknown): Promise<Call> => {
		const response = await fetch(`${hs.url}/_matrix/client${path}`, {
			method,
			headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return { status: response.status, body: (await response.json()) as Record<string, any> };
	};
}

const enc = encodeURIComponent;

async function sync(call: ReturnType<typeof client>, since?: string) {
	const answer = await call('GET', `/v3/sync?timeout=0${since ? `&since=${since}` : ''}`);
	expect(answer.status).toBe(200);
	return answer.body;
}

describe('fake homeserver: end-to-end encryption (Synapse rules)', () => {
	let hs: FakeHomeserver;
	let alice: ReturnType<FakeHomeserver['createUser']>;
	let bob: ReturnType<FakeHomeserver['createUser']>;
	let asAlice: ReturnType<typeof client>;
	let asBob: ReturnType<typeof client>;
	const deviceKeys = (user: { userId: string; deviceId: string }, curve = 'curve') => ({
		user_id: user.userId,
		device_id: user.deviceId,
		algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
		keys: { [`curve25519:${user.deviceId}`]: curve, [`ed25519:${user.deviceId}`]: 'ed' },
		signatures: { [user.userId]: { [`ed25519:${user.deviceId}`]: 'sig' } },
	});

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		alice = hs.createUser('alice');
		bob = hs.createUser('bob');
		hs.createRoom({ creator: alice.userId, members: [bob.userId] });
		asAlice = client(hs, alice.accessToken);
		asBob = client(hs, bob.accessToken);
	});
	afterEach(() => hs.stop());

	test('handlers/e2e_keys.py upload_keys_for_user: keys go to the access token\'s device; counts of one-time keys come back', async () => {
		const up = await asAlice('POST', '/v3/keys/upload', {
			device_keys: deviceKeys(alice),
			one_time_keys: { 'signed_curve25519:AAAA': { key: 'k1' }, 'signed_curve25519:AAAB': { key: 'k2' } },
		});
		expect(up).toEqual({ status: 200, body: { one_time_key_counts: { signed_curve25519: 2 } } });
		expect(hs.e2ee.deviceKeysOf(alice.userId, alice.deviceId)).toMatchObject({ device_id: alice.deviceId });
		// An empty upload only reports the count (the SDK polls it this way).
		expect((await asAlice('POST', '/v3/keys/upload', {})).body).toEqual({ one_time_key_counts: { signed_curve25519: 2 } });
	});

	test('handlers/e2e_keys.py _upload_one_time_keys_for_user: the same key again is fine, other content under its ID is 400', async () => {
		await asAlice('POST', '/v3/keys/upload', { one_time_keys: { 'signed_curve25519:AAAA': { key: 'k1' } } });
		const same = await asAlice('POST', '/v3/keys/upload', { one_time_keys: { 'signed_curve25519:AAAA': { key: 'k1' } } });
		expect(same.body).toEqual({ one_time_key_counts: { signed_curve25519: 1 } });
		const other = await asAlice('POST', '/v3/keys/upload', { one_time_keys: { 'signed_curve25519:AAAA': { key: 'other' } } });
		expect(other.status).toBe(400);
		expect(other.body.error).toMatch(/^One time key signed_curve25519:AAAA already exists/);
	});

	test('handlers/e2e_keys.py query_local_devices: stored keys with unsigned.device_display_name; an empty list means every device', async () => {
		await asAlice('POST', '/v3/keys/upload', { device_keys: deviceKeys(alice) });
		const all = await asBob('POST', '/v3/keys/query', { device_keys: { [alice.userId]: [] } });
		expect(all.status).toBe(200);
		expect(all.body.device_keys[alice.userId][alice.deviceId]).toMatchObject({
			...deviceKeys(alice),
			unsigned: { device_display_name: alice.deviceId },
		});
		const none = await asBob('POST', '/v3/keys/query', { device_keys: { [alice.userId]: ['NOPE'] } });
		expect(none.body.device_keys).toEqual({ [alice.userId]: {} });
		expect(none.body.failures).toEqual({});
	});

	test('storage end_to_end_keys.py claim_e2e_one_time_keys: each key is handed out once, then the fallback key, again and again', async () => {
		await asAlice('POST', '/v3/keys/upload', {
			one_time_keys: { 'signed_curve25519:AAAA': { key: 'k1' } },
			fallback_keys: { 'signed_curve25519:FFFF': { key: 'fb', fallback: true } },
		});
		const ask = { one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } } };
		const first = await asBob('POST', '/v3/keys/claim', ask);
		expect(first.body.one_time_keys).toEqual({ [alice.userId]: { [alice.deviceId]: { 'signed_curve25519:AAAA': { key: 'k1' } } } });
		expect(hs.e2ee.oneTimeKeyCount(alice.userId, alice.deviceId)).toBe(0);
		for (let i = 0; i < 2; i++) {
			const fallback = await asBob('POST', '/v3/keys/claim', ask);
			expect(fallback.body.one_time_keys[alice.userId][alice.deviceId]).toEqual({ 'signed_curve25519:FFFF': { key: 'fb', fallback: true } });
		}
		// handlers/sync.py: the used fallback key is no longer reported as unused.
		expect((await sync(asAlice)).device_unused_fallback_key_types).toEqual([]);
	});

	test('handlers/devicemessage.py send_device_message: delivered in to_device once, "*" for every device, the transaction answered again', async () => {
		const start = await sync(asBob);
		expect(start.to_device).toEqual({ events: [] });
		const path = `/v3/sendToDevice/${enc('m.room_key_request')}/txn1`;
		expect(await asAlice('PUT', path, { messages: { [bob.userId]: { '*': { hello: 1 } } } })).toEqual({ status: 200, body: {} });
		expect(await asAlice('PUT', path, { messages: { [bob.userId]: { '*': { hello: 1 } } } })).toEqual({ status: 200, body: {} });
		const next = await sync(asBob, start.next_batch);
		expect(next.to_device.events).toEqual([{ type: 'm.room_key_request', sender: alice.userId, content: { hello: 1 } }]);
		// handlers/sync.py _generate_sync_entry_for_to_device: a later `since` acknowledges them.
		const after = await sync(asBob, next.next_batch);
		expect(after.to_device.events).toEqual([]);
		expect(hs.e2ee.pendingToDevice(bob.userId, bob.deviceId)).toEqual([]);
	});

	test('handlers/sync.py _generate_sync_entry_for_device_list: a room-mate\'s changed keys appear in device_lists.changed; an unchanged re-upload does not', async () => {
		const start = await sync(asBob);
		await asAlice('POST', '/v3/keys/upload', { device_keys: deviceKeys(alice) });
		const changed = await sync(asBob, start.next_batch);
		expect(changed.device_lists).toEqual({ changed: [alice.userId], left: [] });
		await asAlice('POST', '/v3/keys/upload', { device_keys: deviceKeys(alice) });
		const unchanged = await sync(asBob, changed.next_batch);
		expect(unchanged.device_lists.changed).toEqual([]);
		// A stranger (no shared room) is not told.
		const carol = hs.createUser('carol');
		const asCarol = client(hs, carol.accessToken);
		const carolStart = await sync(asCarol);
		await asAlice('POST', '/v3/keys/upload', { device_keys: deviceKeys(alice, 'curve2') });
		expect((await sync(asCarol, carolStart.next_batch)).device_lists.changed).toEqual([]);
		expect(hs.e2ee.deviceKeyUploads.filter((u) => u.changed)).toHaveLength(1);
	});

	test('handlers/sync.py generate_sync_result: device_one_time_keys_count on every sync, signed_curve25519 even at 0', async () => {
		expect((await sync(asAlice)).device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
		await asAlice('POST', '/v3/keys/upload', { one_time_keys: { 'signed_curve25519:AAAA': { key: 'k1' } } });
		expect((await sync(asAlice)).device_one_time_keys_count).toEqual({ signed_curve25519: 1 });
	});

	test('storage e2e_room_keys.py get_e2e_room_keys_version_info: no backup is 404 M_NOT_FOUND', async () => {
		expect(await asAlice('GET', '/v3/room_keys/version')).toEqual({
			status: 404,
			body: { errcode: 'M_NOT_FOUND', error: 'No current backup version' },
		});
	});

	test('rest/client/account_data.py AccountDataServlet: missing is 404, another user\'s is 403, own is stored', async () => {
		const type = 'm.secret_storage.default_key';
		expect(await asAlice('GET', `/v3/user/${enc(alice.userId)}/account_data/${type}`)).toEqual({
			status: 404,
			body: { errcode: 'M_NOT_FOUND', error: 'Account data not found' },
		});
		expect((await asAlice('GET', `/v3/user/${enc(bob.userId)}/account_data/${type}`)).status).toBe(403);
		await asAlice('PUT', `/v3/user/${enc(alice.userId)}/account_data/${type}`, { key: 'x' });
		expect((await asAlice('GET', `/v3/user/${enc(alice.userId)}/account_data/${type}`)).body).toEqual({ key: 'x' });
	});

	describe('two matrix-js-sdk clients with Rust crypto', () => {
		const clients: CryptoClient[] = [];
		afterEach(async () => {
			for (const c of clients.splice(0)) await c.stop();
		});

		test('an encrypted room: Bob reads what Alice wrote, the homeserver holds ciphertext only', async () => {
			const roomId = hs.createRoom({ creator: alice.userId, members: [bob.userId] });
			hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
			const a = await startCryptoClient(hs.url, alice);
			clients.push(a);
			const b = await startCryptoClient(hs.url, bob);
			clients.push(b);
			// As with Synapse: a device that has not published its keys yet gets no room key.
			const deadline = Date.now() + 20_000;
			while (!hs.e2ee.deviceKeysOf(bob.userId, bob.deviceId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
			await a.say(roomId, 'hello in secret');
			while (!b.received.some((m) => !m.failed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
			expect(b.received.filter((m) => !m.failed).map((m) => [m.type, m.content.body, m.encrypted])).toEqual([
				['m.room.message', 'hello in secret', true],
			]);
			const timeline = hs.timeline(roomId).filter((e) => e.state_key === undefined);
			expect(timeline.map((e) => e.type)).toEqual(['m.room.encrypted']);
			expect(JSON.stringify(timeline)).not.toContain('hello in secret');
		});
	});
});
