/**
 * End-to-end encryption endpoints of the fake homeserver: what matrix-js-sdk's Rust crypto
 * (@matrix-org/matrix-sdk-crypto-wasm) calls, with Synapse's rules. Each rule names the Synapse
 * source it copies (element-hq/synapse, paths below); e2ee.test.ts has a test per rule.
 *
 * - POST /keys/upload — synapse/rest/client/keys.py KeyUploadServlet → handlers/e2e_keys.py
 *   `upload_keys_for_user`: device keys are stored for the requester's device (the access token's
 *   device, whatever the body says); a changed set replaces the stored one and notifies a
 *   device-list update (`set_e2e_device_keys`; Synapse does not refuse changed identity keys yet,
 *   element-hq/synapse#18511 — `deviceKeyUploads` lets tests prove the bot never does it); one-time keys are
 *   added, an existing key ID with other content is 400 "One time key … already exists"; fallback
 *   keys replace the previous one per algorithm; the answer counts the unclaimed one-time keys.
 * - POST /keys/query — handlers/e2e_keys.py `query_devices` / `query_local_devices`: the stored
 *   device keys of the named users (all devices for an empty list) with `unsigned.device_display_name`.
 * - POST /keys/claim — handlers/e2e_keys.py `claim_one_time_keys` → storage/databases/main/
 *   end_to_end_keys.py `claim_e2e_one_time_keys`: one key per device and algorithm, removed when
 *   claimed; when none is left the fallback key is handed out (and marked used), repeatedly.
 * - PUT /sendToDevice/{type}/{txnId} — rest/client/sendtodevice.py + handlers/devicemessage.py
 *   `send_device_message`: per user and device (`*`: all the user's devices), the HTTP transaction
 *   cache answering a repeat; delivered in /sync `to_device.events` as `{type, sender, content}`,
 *   and deleted once the device syncs with a `since` past them (handlers/sync.py
 *   `_generate_sync_entry_for_to_device` → `delete_messages_for_device`), at most 100 per sync.
 * - /sync `device_lists.changed` — handlers/sync.py `_generate_sync_entry_for_device_list`: users
 *   sharing a room with the syncing user (and the user themself) whose device keys changed since
 *   the token, plus users who joined a shared room since then; `device_one_time_keys_count` and
 *   `device_unused_fallback_key_types` on every sync (`generate_sync_result`).
 * - GET /room_keys/version — rest/client/room_keys.py RoomKeysVersionServlet →
 *   storage/databases/main/e2e_room_keys.py `get_e2e_room_keys_version_info`: no backup is 404
 *   M_NOT_FOUND "No current backup version".
 * - GET/PUT /user/{userId}/account_data/{type} — rest/client/account_data.py AccountDataServlet:
 *   another user's is 403 "Cannot get account data for other users.", a missing one 404 M_NOT_FOUND
 *   "Account data not found".
 * - POST /keys/signatures/upload — handlers/e2e_keys.py `upload_signatures_for_device_keys`:
 *   without cross-signing keys every signature is a failure (here: stored nowhere, `failures` empty
 *   only when nothing was sent); the bot never cross-signs on its own.
 */
import { HttpError, forbidden, notFound } from './errors';

type Json = Record<string, unknown>;

interface ToDeviceMessage {
	pos: number;
	event: { type: string; sender: string; content: Json };
}

/** What the server around this module provides. */
export interface E2eeHost {
	/** The next stream position (shared with room events, so one sync token covers both). */
	nextPos(): number;
	/** Wakes pending /sync long-polls. */
	wake(): void;
	/** Every local device of a user. */
	devicesOf(userId: string): string[];
	/** Users sharing a joined room with `userId` (themself included). */
	sharedUsers(userId: string): Set<string>;
	/** Users who joined a room `userId` is joined to, at stream positions in (since, upTo]. */
	joinedSince(userId: string, since: number, upTo: number): Set<string>;
}

const deviceKey = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;

export class FakeE2ee {
	private readonly deviceKeys = new Map<string, Map<string, Json>>();
	private readonly oneTimeKeys = new Map<string, Map<string, Json>>();
	private readonly fallbackKeys = new Map<string, Map<string, { keyId: string; key: Json; used: boolean }>>();
	private readonly inbox = new Map<string, ToDeviceMessage[]>();
	private readonly deviceChanges: Array<{ pos: number; userId: string }> = [];
	private readonly accountData = new Map<string, Json>();
	/** Every /keys/upload that carried device keys, per device: for tests (same keys after a restart). */
	readonly deviceKeyUploads: Array<{ userId: string; deviceId: string; changed: boolean }> = [];

	constructor(private readonly host: E2eeHost) {}

	// ---------------------------------------------------------------- inspection (tests)

	/** The device keys a device uploaded last (`keys`, `algorithms`, `signatures`, …). */
	deviceKeysOf(userId: string, deviceId: string): Json | undefined {
		return this.deviceKeys.get(userId)?.get(deviceId);
	}

	oneTimeKeyCount(userId: string, deviceId: string): number {
		return this.oneTimeKeys.get(deviceKey(userId, deviceId))?.size ?? 0;
	}

	/** To-device messages waiting for a device (not yet acknowledged by a later sync). */
	pendingToDevice(userId: string, deviceId: string): Array<ToDeviceMessage['event']> {
		return (this.inbox.get(deviceKey(userId, deviceId)) ?? []).map((m) => m.event);
	}

	// ---------------------------------------------------------------- HTTP

	/**
	 * Answers an E2EE request, or returns undefined when the path is none of these. `segments` are
	 * the decoded path segments after `/_matrix/client/v3/`.
	 */
	route(
		method: string,
		segments: string[],
		session: { userId: string; deviceId: string },
		body: () => Json,
		cachedTxn: { answer: () => Json | undefined; remember: (answer: Json) => void },
	): Json | undefined {
		const [head, a, b, c] = segments;
		const n = segments.length;
		const me = session.userId;
		if (head === 'keys' && n === 2 && method === 'POST') {
			if (a === 'upload') return this.upload(session, body());
			if (a === 'query') return this.query(body());
			if (a === 'claim') return this.claim(body());
		}
		if (head === 'keys' && a === 'signatures' && b === 'upload' && n === 3 && method === 'POST') {
			body();
			return { failures: {} };
		}
		if (head === 'sendToDevice' && n === 3 && method === 'PUT') {
			const cached = cachedTxn.answer();
			if (cached) return cached;
			this.sendToDevice(me, a, body());
			cachedTxn.remember({});
			return {};
		}
		if (head === 'room_keys' && a === 'version' && method === 'GET')
			throw notFound('No current backup version');
		if (head === 'user' && b === 'account_data' && n === 4) {
			if (a !== me)
				throw forbidden(
					method === 'GET' ? 'Cannot get account data for other users.' : 'Cannot add account data for other users.',
				);
			const key = `${me}\u0000${c}`;
			if (method === 'GET') {
				const found = this.accountData.get(key);
				if (!found) throw notFound('Account data not found');
				return found;
			}
			if (method === 'PUT') {
				this.accountData.set(key, body());
				return {};
			}
		}
		return undefined;
	}

	private upload(session: { userId: string; deviceId: string }, keys: Json): Json {
		const { userId, deviceId } = session;
		const deviceKeys = keys.device_keys as Json | undefined;
		if (deviceKeys && typeof deviceKeys === 'object') {
			// `set_e2e_device_keys` compares the canonical JSON and reports whether it changed; only
			// then `notify_device_update` (device_lists.changed for everyone sharing a room).
			const devices = this.deviceKeys.get(userId) ?? new Map<string, Json>();
			const previous = devices.get(deviceId);
			const changed = JSON.stringify(canonical(previous)) !== JSON.stringify(canonical(deviceKeys));
			devices.set(deviceId, structuredClone(deviceKeys));
			this.deviceKeys.set(userId, devices);
			this.deviceKeyUploads.push({ userId, deviceId, changed: !!previous && changed });
			if (changed) this.deviceChanged(userId);
		}
		const otks = keys.one_time_keys as Json | undefined;
		if (otks && typeof otks === 'object') {
			const stored = this.oneTimeKeys.get(deviceKey(userId, deviceId)) ?? new Map<string, Json>();
			const fresh: Array<[string, Json]> = [];
			for (const [id, key] of Object.entries(otks)) {
				const existing = stored.get(id);
				if (existing) {
					// `_one_time_keys_match`: the same key again is fine, other content is refused.
					if (JSON.stringify(canonical(existing)) !== JSON.stringify(canonical(key)))
						throw new HttpError(400, 'M_UNKNOWN', `One time key ${id} already exists.`);
				} else fresh.push([id, key as Json]);
			}
			for (const [id, key] of fresh) stored.set(id, key);
			this.oneTimeKeys.set(deviceKey(userId, deviceId), stored);
		}
		const fallback = (keys.fallback_keys ?? keys['org.matrix.msc2732.fallback_keys']) as Json | undefined;
		if (fallback && typeof fallback === 'object' && !Array.isArray(fallback)) {
			// storage end_to_end_keys.py `set_e2e_fallback_keys`: one per algorithm, a new one unused.
			const stored = this.fallbackKeys.get(deviceKey(userId, deviceId)) ?? new Map();
			for (const [id, key] of Object.entries(fallback)) {
				const algorithm = id.split(':')[0];
				const old = stored.get(algorithm);
				if (old && old.keyId === id && JSON.stringify(canonical(old.key)) === JSON.stringify(canonical(key))) continue;
				stored.set(algorithm, { keyId: id, key: key as Json, used: false });
			}
			this.fallbackKeys.set(deviceKey(userId, deviceId), stored);
		}
		return { one_time_key_counts: this.otkCounts(userId, deviceId) };
	}

	private otkCounts(userId: string, deviceId: string): Record<string, number> {
		// `count_e2e_one_time_keys`: per algorithm; Synapse always reports signed_curve25519 (0 too).
		const counts: Record<string, number> = { signed_curve25519: 0 };
		for (const id of this.oneTimeKeys.get(deviceKey(userId, deviceId))?.keys() ?? []) {
			const algorithm = id.split(':')[0];
			counts[algorithm] = (counts[algorithm] ?? 0) + 1;
		}
		return counts;
	}

	private query(body: Json): Json {
		const wanted = body.device_keys;
		if (!wanted || typeof wanted !== 'object' || Array.isArray(wanted))
			throw new HttpError(400, 'M_BAD_JSON', 'device_keys must be an object');
		const out: Record<string, Record<string, Json>> = {};
		for (const [userId, devices] of Object.entries(wanted as Json)) {
			const stored = this.deviceKeys.get(userId) ?? new Map<string, Json>();
			const names = Array.isArray(devices) && devices.length ? (devices as string[]) : [...stored.keys()];
			out[userId] = {};
			for (const deviceId of names) {
				const keys = stored.get(deviceId);
				if (keys) out[userId][deviceId] = { ...structuredClone(keys), unsigned: { device_display_name: deviceId } };
			}
		}
		return { device_keys: out, failures: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {} };
	}

	private claim(body: Json): Json {
		const wanted = body.one_time_keys;
		if (!wanted || typeof wanted !== 'object' || Array.isArray(wanted))
			throw new HttpError(400, 'M_BAD_JSON', 'one_time_keys must be an object');
		const out: Record<string, Record<string, Json>> = {};
		for (const [userId, devices] of Object.entries(wanted as Json)) {
			for (const [deviceId, algorithm] of Object.entries((devices ?? {}) as Json)) {
				const key = this.claimOne(userId, deviceId, String(algorithm));
				if (!key) continue;
				((out[userId] ??= {})[deviceId] ??= {})[key[0]] = key[1];
			}
		}
		return { one_time_keys: out, failures: {} };
	}

	private claimOne(userId: string, deviceId: string, algorithm: string): [string, Json] | undefined {
		const stored = this.oneTimeKeys.get(deviceKey(userId, deviceId));
		for (const [id, key] of stored ?? []) {
			if (id.split(':')[0] !== algorithm) continue;
			stored!.delete(id);
			return [id, key];
		}
		const fallback = this.fallbackKeys.get(deviceKey(userId, deviceId))?.get(algorithm);
		if (!fallback) return undefined;
		fallback.used = true;
		return [fallback.keyId, fallback.key];
	}

	private sendToDevice(sender: string, type: string, body: Json): void {
		const messages = body.messages;
		if (!messages || typeof messages !== 'object')
			throw new HttpError(400, 'M_MISSING_PARAM', 'Missing params: messages');
		for (const [userId, byDevice] of Object.entries(messages as Json)) {
			for (const [deviceId, content] of Object.entries((byDevice ?? {}) as Json)) {
				const targets = deviceId === '*' ? this.host.devicesOf(userId) : [deviceId];
				for (const target of targets) {
					const inbox = this.inbox.get(deviceKey(userId, target)) ?? [];
					inbox.push({ pos: this.host.nextPos(), event: { type, sender, content: structuredClone(content as Json) } });
					this.inbox.set(deviceKey(userId, target), inbox);
				}
			}
		}
		this.host.wake();
	}

	private deviceChanged(userId: string): void {
		this.deviceChanges.push({ pos: this.host.nextPos(), userId });
		this.host.wake();
	}

	// ---------------------------------------------------------------- /sync

	/** The E2EE part of a sync answer for one device, between `since` (exclusive) and `upTo`. */
	syncSection(
		session: { userId: string; deviceId: string },
		since: number | undefined,
		upTo: number,
	): { section: Json; hasNews: boolean } {
		const key = deviceKey(session.userId, session.deviceId);
		// A sync with `since` acknowledges everything delivered up to it.
		const inbox = (this.inbox.get(key) ?? []).filter((m) => since === undefined || m.pos > since);
		this.inbox.set(key, inbox);
		const toDevice = inbox.filter((m) => m.pos <= upTo).slice(0, 100);
		const changed = new Set<string>();
		if (since !== undefined) {
			const shared = this.host.sharedUsers(session.userId);
			for (const change of this.deviceChanges)
				if (change.pos > since && change.pos <= upTo && shared.has(change.userId)) changed.add(change.userId);
			for (const user of this.host.joinedSince(session.userId, since, upTo))
				if (user !== session.userId) changed.add(user);
		}
		const fallbackTypes = [...(this.fallbackKeys.get(key)?.entries() ?? [])]
			.filter(([, f]) => !f.used)
			.map(([algorithm]) => algorithm);
		return {
			section: {
				to_device: { events: toDevice.map((m) => m.event) },
				device_lists: { changed: [...changed], left: [] },
				device_one_time_keys_count: this.otkCounts(session.userId, session.deviceId),
				device_unused_fallback_key_types: fallbackTypes,
			},
			hasNews: toDevice.length > 0 || changed.size > 0,
		};
	}

	/** The position of the newest to-device message: a sync answering fewer must resume before it. */
	lastDeliveredPos(session: { userId: string; deviceId: string }, upTo: number): number {
		const inbox = (this.inbox.get(deviceKey(session.userId, session.deviceId)) ?? []).filter((m) => m.pos <= upTo);
		return inbox.length > 100 ? inbox[99].pos : upTo;
	}
}

/** JSON with sorted keys (Synapse compares canonical JSON). */
function canonical(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(canonical);
	if (value && typeof value === 'object')
		return Object.fromEntries(
			Object.keys(value as Json)
				.sort()
				.map((k) => [k, canonical((value as Json)[k])]),
		);
	return value;
}
