import { createHash } from 'node:crypto';
import type * as Sdk from 'matrix-js-sdk';

import type { MatrixClient } from './client';
import {
	type FileKey,
	cryptoStoreExists,
	cryptoStorePath,
	deleteCryptoDatabases,
	restoreCryptoStore,
	saveCryptoStore,
} from './crypto-store';

/**
 * End-to-end encryption for command rooms. Only the Matrix Command Trigger's long-lived sync client
 * holds the bot's crypto device (one Olm account must never be used by two clients at once, or
 * their one-time keys and ratchets diverge); everything else that posts as the bot — Matrix
 * Invite's message operation — hands encrypted-room messages to that client through the
 * process-wide registry below. Where there is none (an n8n queue-mode worker, or no trigger of the
 * bot is active) a message for an encrypted room fails with a clear error: never plaintext.
 */

export type EncryptionMode = 'auto' | 'always' | 'off';

/** Posts a message into an encrypted room through the bot's crypto device. */
export interface EncryptedSender {
	/** The device ID of the crypto device (for the operator's verification, never logged). */
	readonly deviceId: string;
	sendEncrypted(roomId: string, content: Record<string, unknown>, txnId: string): Promise<{ eventId: string }>;
	/**
	 * Decrypts an m.room.encrypted event (its JSON, with room_id); undefined without its key. With
	 * `waitMs`, an event whose room key has not come yet is decrypted as soon as it does, within that time.
	 */
	decrypt(
		event: Record<string, unknown>,
		options?: { waitMs?: number; signal?: AbortSignal },
	): Promise<{ type: string; content: Record<string, unknown> } | undefined>;
	/**
	 * To-device messages that another sync of the same device (a second trigger of the bot in this
	 * process) received. Synapse deletes a device's to-device messages once any of its syncs has
	 * acknowledged them (`delete_messages_for_device` with the sync's `since`), so without this the
	 * room keys in them could never reach the device's crypto.
	 */
	receiveToDevice(events: unknown[]): Promise<void>;
}

const registry = new Map<string, EncryptedSender>();
let sessions = 0;

function registryKey(homeserverUrl: string, userId: string): string {
	return `${homeserverUrl.replace(/\/+$/, '')}|${userId}`;
}

/** Takes the bot's slot; false when another trigger in this process already holds it. */
export function registerEncryptedSender(homeserverUrl: string, userId: string, sender: EncryptedSender): boolean {
	const key = registryKey(homeserverUrl, userId);
	if (registry.has(key) && registry.get(key) !== sender) return false;
	registry.set(key, sender);
	return true;
}

export function unregisterEncryptedSender(homeserverUrl: string, userId: string, sender: EncryptedSender): void {
	const key = registryKey(homeserverUrl, userId);
	if (registry.get(key) === sender) registry.delete(key);
}

export function encryptedSenderFor(homeserverUrl: string, userId: string): EncryptedSender | undefined {
	return registry.get(registryKey(homeserverUrl, userId));
}

/** Thrown (not sent) when a message is for an encrypted room and no crypto device can encrypt it. */
export class EncryptedRoomError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'EncryptedRoomError';
	}
}

/**
 * Whether a room is encrypted: its `m.room.encryption` state event exists (spec "End-to-end
 * encryption": once enabled it cannot be turned off). undefined when the homeserver did not say
 * (the caller then must not send plaintext either).
 */
export async function roomIsEncrypted(client: MatrixClient, roomId: string): Promise<boolean | undefined> {
	const state = await client.request<Record<string, unknown>>('GET', ['rooms', roomId, 'state', 'm.room.encryption', '']);
	if (state.ok) return typeof state.value?.algorithm === 'string';
	if (state.kind === 'http' && state.status === 404) return false;
	return undefined;
}

/** What the listener needs to set the crypto up for its SDK client. */
export interface CryptoSetup {
	homeserverUrl: string;
	userId: string;
	deviceId: string;
	/** Seals the store file (AES-256-GCM, scrypt key; crypto-store.ts); optional. */
	passphrase?: string;
	/** For tests: where n8n's folder is (default from N8N_USER_FOLDER). */
	folder?: string;
}

/** The IndexedDB database prefix of one bot device (a hash: the names carry no Matrix ID). */
export function cryptoDatabasePrefix(setup: Pick<CryptoSetup, 'homeserverUrl' | 'userId' | 'deviceId'>): string {
	const digest = createHash('sha256')
		.update(`${setup.homeserverUrl}\n${setup.userId}\n${setup.deviceId}`)
		.digest('hex')
		.slice(0, 24);
	return `pretix-matrix-${digest}`;
}

export function cryptoStoreFile(setup: CryptoSetup): string {
	return cryptoStorePath(setup, setup.folder);
}

/** A store file exists for this device: it was set up before, so it keeps its crypto. */
export function hasCryptoStore(setup: CryptoSetup): boolean {
	return cryptoStoreExists(cryptoStoreFile(setup));
}

/**
 * The crypto of one SDK client: restores the device's store from its file, starts the Rust crypto,
 * saves the store right away (the Olm account exists from now on and is on disk before its keys are
 * uploaded) and again after every request that changes it, and on close.
 */
export class CryptoSession implements EncryptedSender {
	readonly deviceId: string;
	private readonly prefix: string;
	private readonly file: string;
	private saving: Promise<void> = Promise.resolve();
	private saveTimer?: ReturnType<typeof setTimeout>;
	private closed = false;
	/** Decryptions waiting for their room key: ended at once on close. */
	private readonly waiting = new Set<() => void>();
	private registered = false;
	private savedAt = 0;
	private fileKey?: FileKey;

	constructor(
		private readonly client: Sdk.MatrixClient,
		private readonly setup: CryptoSetup,
		private readonly onError: (error: Error) => void,
		/** The SDK module (loaded by the listener on first use). */
		private readonly sdk: typeof Sdk,
		/** Reads a room's m.room.encryption content over plain HTTP (undefined: none or unknown). */
		private readonly readEncryption: (roomId: string) => Promise<Record<string, unknown> | undefined>,
	) {
		this.deviceId = setup.deviceId;
		// One prefix per session (crypto-store.ts restoreCryptoStore): `<device hash>-<session>-`.
		this.prefix = `${cryptoDatabasePrefix(setup)}-${++sessions}-`;
		this.file = cryptoStoreFile(setup);
	}

	/** Starts the crypto; false when another trigger of this bot in this process holds the device. */
	async start(): Promise<boolean> {
		if (!registerEncryptedSender(this.setup.homeserverUrl, this.setup.userId, this)) return false;
		this.registered = true;
		const restored = await restoreCryptoStore(this.prefix, this.file, this.setup.passphrase);
		this.fileKey = restored.key;
		await this.client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: this.prefix });
		await this.saveNow();
		return true;
	}

	/**
	 * Saves soon (coalescing bursts): called after each sync and each keys / to-device request, the
	 * moments the Rust crypto writes its store (markRequestAsSent, receiveSyncChanges).
	 */
	saveSoon(): void {
		if (this.closed || this.saveTimer) return;
		this.saveTimer = setTimeout(() => {
			this.saveTimer = undefined;
			void this.saveNow();
		}, 200);
	}

	/**
	 * A snapshot copies the whole store (all room keys), so quiet syncs do not each cost one: at most
	 * one a minute for them.
	 */
	saveOccasionally(): void {
		if (Date.now() - this.savedAt >= 60_000) this.saveSoon();
	}

	private saveNow(): Promise<void> {
		this.savedAt = Date.now();
		this.saving = this.saving
			.then(() => saveCryptoStore(this.prefix, this.file, this.fileKey))
			.catch((error: Error) =>
				this.onError(new Error(`The crypto store could not be saved (${error?.name ?? 'Error'})`)),
			);
		return this.saving;
	}

	/** After the SDK client stopped: a last save, then the in-memory copy goes. */
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		clearTimeout(this.saveTimer);
		for (const stop of [...this.waiting]) stop();
		if (this.registered) unregisterEncryptedSender(this.setup.homeserverUrl, this.setup.userId, this);
		if (!this.registered) return;
		await this.saveNow();
		await this.saving;
		await deleteCryptoDatabases(this.prefix).catch(() => undefined);
	}

	/**
	 * Makes sure the SDK's room knows it is encrypted. After a restart that resumed from the
	 * persisted sync token the SDK has not seen the room's m.room.encryption state event (it came
	 * with the first session's initial sync), so it has no room encryptor ("Cannot encrypt event in
	 * unconfigured room") and `hasEncryptionStateEvent()` is false. The state is read over HTTP and
	 * handed to the room and the crypto as the sync would have (sync.ts: onCryptoEvent before the
	 * state is emitted). Resolves whether the room is encrypted.
	 */
	async ensureRoomEncryption(roomId: string): Promise<boolean> {
		const room = this.client.getRoom(roomId);
		if (!room) return false;
		if (room.hasEncryptionStateEvent()) return true;
		const content = await this.readEncryption(roomId);
		if (!content || typeof content.algorithm !== 'string') return false;
		if (room.hasEncryptionStateEvent()) return true;
		const event = new this.sdk.MatrixEvent({
			type: 'm.room.encryption',
			state_key: '',
			content,
			room_id: roomId,
			sender: this.setup.userId,
			// Not a real event of the room: only its content matters (algorithm, rotation settings).
			event_id: '$pretix-matrix-local-encryption-state',
			origin_server_ts: Date.now(),
		});
		await (this.client.getCrypto() as unknown as { onCryptoEvent(room: Sdk.Room, event: Sdk.MatrixEvent): Promise<void> }).onCryptoEvent(room, event);
		room.currentState.setStateEvents([event]);
		return true;
	}

	async receiveToDevice(events: unknown[]): Promise<void> {
		if (this.closed || !events.length) return;
		// The SDK's own sync hands its to-device events to the crypto this way (SyncCryptoCallbacks).
		// Sliding sync's variant (useMsc4186) reads absent one-time-key counts as unchanged: these
		// messages carry none, and the holder's own sync keeps the counts. A message the holder's sync
		// also brought is recognised by the Olm machine as a replay and ignored.
		const callbacks = this.client.getCrypto() as unknown as
			| { processSyncChanges?: (changes: Record<string, unknown>) => Promise<unknown> }
			| undefined;
		await callbacks?.processSyncChanges?.({
			toDeviceEvents: events,
			deviceLists: { changed: [], left: [] },
			oneTimeKeysCounts: {},
			useMsc4186: true,
		});
		this.saveSoon();
	}

	async decrypt(
		raw: Record<string, unknown>,
		options: { waitMs?: number; signal?: AbortSignal } = {},
	): Promise<{ type: string; content: Record<string, unknown> } | undefined> {
		if (this.closed) return undefined;
		const event = new this.sdk.MatrixEvent(structuredClone(raw));
		await this.client.decryptEventIfNeeded(event);
		if (event.isDecryptionFailure() && (options.waitMs ?? 0) > 0 && !this.closed && !options.signal?.aborted) {
			// The SDK keeps an event whose room key is missing and decrypts it again when the key
			// arrives (rust-crypto EventDecryptor.eventsPendingKey, then MatrixEventEvent.Decrypted):
			// the caller's command is read the moment the key comes, not at its next poll.
			await new Promise<void>((resolve) => {
				const stop = () => {
					clearTimeout(timer);
					event.off(this.sdk.MatrixEventEvent.Decrypted, stop);
					options.signal?.removeEventListener('abort', stop);
					this.waiting.delete(stop);
					resolve();
				};
				const timer = setTimeout(stop, options.waitMs);
				event.once(this.sdk.MatrixEventEvent.Decrypted, stop);
				options.signal?.addEventListener('abort', stop, { once: true });
				this.waiting.add(stop);
			});
		}
		if (this.closed || event.isDecryptionFailure()) return undefined;
		return { type: event.getType(), content: event.getContent() as Record<string, unknown> };
	}

	async sendEncrypted(roomId: string, content: Record<string, unknown>, txnId: string): Promise<{ eventId: string }> {
		if (this.closed) throw new EncryptedRoomError('The Matrix Command Trigger holding the encryption device has stopped');
		const crypto = this.client.getCrypto();
		// The SDK sends plaintext when it does not know the room is encrypted: refuse instead.
		if (!crypto || !(await this.ensureRoomEncryption(roomId)) || !(await crypto.isEncryptionEnabledInRoom(roomId)))
			throw new EncryptedRoomError(
				"The encryption device has not synced this encrypted room yet (is the bot a member? wait for the trigger's first sync)",
			);
		try {
			const sent = await this.client.sendEvent(roomId, 'm.room.message' as never, content as never, txnId);
			return { eventId: sent.event_id };
		} catch (error) {
			// The SDK keeps the failed local echo under its transaction ID and refuses the ID again
			// ("addPendingEvent called on an event with known txnId"): drop it, so a retry with the
			// same ID can go (the homeserver's transaction cache still makes it post once).
			const failed = this.client
				.getRoom(roomId)
				?.getLiveTimeline()
				.getEvents()
				.find((e) => e.getTxnId() === txnId && e.status === this.sdk.EventStatus.NOT_SENT);
			if (failed) this.client.cancelPendingEvent(failed);
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: the trigger and runError() map it (CONTRIBUTING.md)
			throw error;
		} finally {
			this.saveSoon();
		}
	}
}
