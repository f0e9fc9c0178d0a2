import type * as Sdk from 'matrix-js-sdk';
import { backoffMs, sleepMs } from '../http/retry';
import { fetchTransport, sameOriginFetch } from '../http/fetch-transport';
import { USER_AGENT } from '../http/user-agent';
import { describeFailure, MatrixClient } from './client';
import { CryptoSession, EncryptedRoomError, encryptedSenderFor, hasCryptoStore, roomIsEncrypted, type EncryptionMode } from './crypto';
import { DEFAULT_COMMANDS, helpText, parseCommand } from './commands';
import { isRoomId, parseRoomRef, roomRefMessage } from './ids';
import { buildNoticeContent, threadRootOf, txnIdFor } from './messages';
import { levelOf, readRoomPowerLevels } from './rooms';
import { withRetries } from './retrying';

const TOMBSTONE = 'm.room.tombstone';

/** How long a command waits for the sender's power level through transient homeserver failures. */
const POWER_LEVEL_RETRY_MS = 30_000;

/**
 * A long-lived chat-command listener built on matrix-js-sdk's sync loop (no crypto). It emits each
 * permitted command once: it skips its own messages, edits, notices, history from before a fresh
 * start, and event ids it has already seen (persisted, so a restart inside Synapse's two-minute
 * sync cache does not replay commands; reference §2.10). Resuming from the persisted sync token,
 * it runs commands typed while it was down if they are young enough (maxCommandAgeMs) and answers
 * older ones once as missed. Replies are retried within a budget.
 */
/**
 * Who may command the bot. Bot admins (the allowlist) may do everything, in any room. A room's
 * moderators (power level ≥ the minimum in *that* room) may act on the events mapped to that room
 * only — the templates scope every command by `roomId` unless `role` is `admin`.
 */
export type CommandRole = 'admin' | 'moderator' | 'member';

export interface CommandEvent {
	command: string;
	args: string[];
	text: string;
	roomId: string;
	sender: string;
	/**
	 * The sender's authority: a bot admin, or a moderator of this room; with `directMessages`, anyone
	 * else in a direct message is a `member` (no authority over any event).
	 */
	role: CommandRole;
	/** With `directMessages` only: a direct message (only the bot and the sender, no alias, not public). */
	direct?: boolean;
	/** The power level that makes a room's moderator (for checks in other rooms). */
	moderatorLevel: number;
	eventId: string;
	/**
	 * Only for a command typed in a thread: the thread's root event. Replies sent with `eventId` as
	 * "Reply To" stay in the thread on their own (sendNotice reads it from the command event).
	 */
	threadId?: string;
	/** ISO 8601, from the event's origin_server_ts. */
	timestamp: string;
}

/**
 * A room the bot listens in was upgraded (spec: m.room.tombstone, state key "", with
 * `content.replacement_room`). Carries no command fields, so nothing reads it as a command.
 */
export interface RoomUpgradeEvent {
	kind: 'roomUpgrade';
	roomId: string;
	replacementRoom: string;
	/** Whether the bot is in the replacement room now (it joins it before emitting). */
	joined: boolean;
	eventId: string;
	/** ISO 8601, from the event's origin_server_ts. */
	timestamp: string;
}

export interface ListenerState {
	syncToken?: string;
	/** Which account/homeserver the token belongs to; a token of another account is ignored. */
	syncTokenOwner?: string;
	seenEventIds?: string[];
}

export type PermissionMode =
	'allowlistOrPowerLevel' | 'allowlist' | 'powerLevel' | 'allowlistAndPowerLevel';

export interface ListenerOptions {
	homeserverUrl: string;
	accessToken: string;
	prefix?: string;
	/** Commands to emit (default: the templates' set). */
	commands?: readonly string[];
	/** Room IDs or aliases to listen in; empty: every joined room. */
	rooms?: readonly string[];
	allowlist?: readonly string[];
	/** Minimum power level in the room where the command is typed (default 50). */
	minPowerLevel?: number;
	permissionMode?: PermissionMode;
	/** Answer refused senders with a short notice. */
	replyToRefused?: boolean;
	/** Answer unknown commands with the help text (permitted senders only). */
	helpOnUnknown?: boolean;
	/** Join rooms the bot is invited to by a permitted user. */
	autoJoin?: boolean;
	/**
	 * Self-service commands: join direct-message invites (`is_direct`) from anyone, and accept the
	 * commands from anyone in a direct message — a room the bot shares with the sender alone, with
	 * no published alias and not public (role `member`). Every emitted command says whether it came
	 * from such a room (`direct`).
	 */
	directMessages?: boolean;
	/**
	 * Room upgrades: on a room's m.room.tombstone the bot joins the replacement room, listens there
	 * too, and `onRoomUpgrade` gets one event. Off: tombstones are not even synced.
	 */
	followRoomUpgrades?: boolean;
	onRoomUpgrade?: (upgrade: RoomUpgradeEvent) => void | Promise<void>;
	state?: ListenerState;
	/** Called whenever the persisted state changed (sync token, seen ids). */
	onState?: (state: ListenerState) => void;
	onCommand: (command: CommandEvent) => void | Promise<void>;
	/** Problems worth telling the operator about (never with IDs in the message). */
	onError?: (error: Error, fatal: boolean) => void;
	/** Messages older than start minus this skew are history (default 2 s). */
	clockSkewMs?: number;
	/**
	 * After a restart that resumes from the persisted sync token, commands typed while the listener
	 * was down are still run when younger than this (default 10 minutes); older ones are answered
	 * once with "missed while offline, please repeat". A fresh start (no token) skips history.
	 */
	maxCommandAgeMs?: number;
	/** How long a reply may be retried through 429/5xx/network failures (default 60 s). */
	replyBudgetMs?: number;
	maxSeenIds?: number;
	/**
	 * End-to-end encryption (crypto.ts): `auto` (default) sets up the bot's crypto device only when a
	 * room it listens in is encrypted at start, or the device has a crypto store already; `always`
	 * sets it up anyway (rooms that become encrypted later); `off` never (encrypted commands are not
	 * read, and nothing is ever sent into an encrypted room).
	 */
	encryption?: EncryptionMode;
	/** Seals the crypto store file (optional; crypto-store.ts). */
	cryptoPassphrase?: string;
	/** For tests: n8n's folder, where the crypto store file lives (default from N8N_USER_FOLDER). */
	cryptoFolder?: string;
	/** For tests: replaces global fetch for the SDK. */
	fetchFn?: typeof fetch;
	now?: () => number;
}

/** matrix-js-sdk's logger interface, silent: the SDK would log room and user IDs. Tests' SDK clients use it too. */
export const quietLogger = {
	trace() {},
	debug() {},
	info() {},
	warn() {},
	error() {},
	getChild() {
		return quietLogger;
	},
};

type SdkModule = typeof Sdk;
let loadedSdk: SdkModule | undefined;

/**
 * matrix-js-sdk is ESM-only; Node ≥ 22.12 can require() it. Loaded on first use, so nodes that never
 * listen (and tests of them) do not pay for it or need ESM support.
 */
function loadSdk(): SdkModule {
	// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
	loadedSdk ??= require('matrix-js-sdk') as SdkModule;
	return loadedSdk;
}

let sdkLoggingSilenced = false;
/**
 * The SDK creates module-level child loggers (e.g. per RTC session, named after room IDs) that
 * ignore the per-client logger and write to the console. Children copy the root's method factory
 * when created, so replacing it once keeps IDs out of the n8n log.
 */
function silenceSdkLogging(): void {
	if (sdkLoggingSilenced) return;
	sdkLoggingSilenced = true;
	// eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK is loaded on first use (loadSdk)
	const { logger } = require('matrix-js-sdk/lib/logger.js') as { logger: unknown };
	const root = logger as { methodFactory: unknown; rebuild?: () => void };
	root.methodFactory = () => () => undefined;
	root.rebuild?.();
}

type RequestOpts = { localTimeoutMs?: number; abortSignal?: AbortSignal };

export class CommandListener {
	private client?: Sdk.MatrixClient;
	private rest: MatrixClient;
	private readonly controller = new AbortController();
	private readonly seen: string[];
	private readonly seenSet: Set<string>;
	private readonly startedAt: number;
	private readonly now: () => number;
	private allowedRooms?: Set<string>;
	private userId = '';
	private deviceId = '';
	private crypto?: CryptoSession;
	/** The operator is told once per listener about commands that could not be decrypted. */
	private toldUndecryptable = false;
	/** …and once about replies it would not send into an encrypted room without crypto. */
	private toldNoCrypto = false;
	private prepared = false;
	private closed = false;
	private readonly joinedOnInvite = new Set<string>();
	/** When each refused sender last got a refusal that was delivered (one per sender and minute). */
	private readonly refusedAt = new Map<string, number>();
	/** Per sender, the refusal being sent: the next one waits for it, so only delivered ones count. */
	private readonly refusing = new Map<string, Promise<void>>();
	/** Whether the sync resumed from a persisted token (then history is what was missed while down). */
	private resumed = false;
	private readonly pending = new Set<Promise<unknown>>();
	private readonly state: ListenerState;

	constructor(private readonly options: ListenerOptions) {
		this.now = options.now ?? Date.now;
		this.startedAt = this.now();
		this.state = { ...(options.state ?? {}) };
		this.seen = Array.isArray(this.state.seenEventIds)
			? this.state.seenEventIds.filter((id) => typeof id === 'string').slice(-this.maxSeen)
			: [];
		this.seenSet = new Set(this.seen);
		const token = options.accessToken;
		this.rest = new MatrixClient(
			options.homeserverUrl,
			fetchTransport(() => `Bearer ${token}`, { signal: this.controller.signal }),
		);
	}

	private get maxSeen(): number {
		return Math.max(10, this.options.maxSeenIds ?? 1000);
	}

	get ownUserId(): string {
		return this.userId;
	}

	get isPrepared(): boolean {
		return this.prepared;
	}

	/** Whether this listener holds the bot's crypto device (reads and answers encrypted rooms). */
	get encrypted(): boolean {
		return !!this.crypto;
	}

	/**
	 * Connects (retrying with backoff while the homeserver is unreachable) and starts syncing.
	 * Resolves once the sync loop runs; rejects only for a rejected token or when closed first.
	 */
	async start(): Promise<void> {
		silenceSdkLogging();
		for (let attempt = 0; ; attempt++) {
			if (this.closed) throw new Error('The listener was closed before it connected');
			const me = await this.rest.whoami();
			if (me.ok && typeof me.value?.user_id === 'string') {
				this.userId = me.value.user_id;
				this.deviceId = typeof me.value.device_id === 'string' ? me.value.device_id : '';
				break;
			}
			if (!me.ok && me.kind === 'http' && me.status === 401)
				throw new Error(`The homeserver rejected the bot's access token (401 ${me.errcode})`);
			if (attempt === 0)
				this.options.onError?.(
					new Error('The homeserver is not reachable yet; retrying with backoff'),
					false,
				);
			await sleepMs(backoffMs(attempt, 1000, 30_000), this.controller.signal);
		}
		await this.resolveRooms();
		if (this.closed) throw new Error('The listener was closed before it connected');
		const withCrypto = await this.wantsCrypto();
		if (this.closed) throw new Error('The listener was closed before it connected');
		this.client = this.createSdkClient(withCrypto);
		if (withCrypto) await this.startCrypto(this.client);
		if (this.closed) throw new Error('The listener was closed before it connected');
		await this.client.startClient({
			filter: this.syncFilter(),
			initialSyncLimit: 10,
			lazyLoadMembers: true,
			pollTimeout: 30_000,
		});
	}

	private cryptoSetup() {
		return {
			homeserverUrl: this.options.homeserverUrl,
			userId: this.userId,
			deviceId: this.deviceId,
			passphrase: this.options.cryptoPassphrase || undefined,
			folder: this.options.cryptoFolder,
		};
	}

	/**
	 * Crypto costs about 55 MiB per process (its wasm module) and an Olm account per bot (README:
	 * Cost), so `auto` sets it up only when
	 * needed: the device has a store already (it must keep using it), or a room the trigger listens
	 * in (the room filter, else every joined room) is encrypted now.
	 */
	private async wantsCrypto(): Promise<boolean> {
		const mode = this.options.encryption ?? 'auto';
		if (mode === 'off') return false;
		if (!this.deviceId) {
			this.options.onError?.(new Error('The homeserver did not name the access token\'s device; encrypted rooms are not read'), false);
			return false;
		}
		if (mode === 'always' || hasCryptoStore(this.cryptoSetup())) return true;
		// Element encrypts direct messages by default, and the bot joins them only later.
		if (this.options.directMessages) return true;
		let rooms = this.allowedRooms ? [...this.allowedRooms] : undefined;
		if (!rooms) {
			const joined = await this.rest.request<{ joined_rooms?: unknown }>('GET', ['joined_rooms']);
			rooms = joined.ok && Array.isArray(joined.value?.joined_rooms) ? joined.value.joined_rooms.map(String) : [];
		}
		for (const roomId of rooms) if (await roomIsEncrypted(this.rest, roomId)) return true;
		return false;
	}

	/**
	 * A device without a store here must not have keys at the homeserver yet: they belong to another
	 * client (the Element session an access token was copied from) or to a lost store, and a new Olm
	 * account would replace them under the same device ID (Synapse lets it; that client's encryption
	 * breaks, and others ignore the new Ed25519 key). Fails closed when the homeserver does not say.
	 */
	private async deviceIsFree(): Promise<boolean | undefined> {
		if (hasCryptoStore(this.cryptoSetup())) return true;
		const query = await this.rest.request<{ device_keys?: Record<string, Record<string, unknown>> }>('POST', ['keys', 'query'], {
			body: { device_keys: { [this.userId]: [this.deviceId] } },
		});
		if (!query.ok) return undefined;
		return !query.value?.device_keys?.[this.userId]?.[this.deviceId];
	}

	private async startCrypto(client: Sdk.MatrixClient): Promise<void> {
		const free = await this.deviceIsFree();
		if (free === false)
			throw new Error(
				"The access token's device already has encryption keys of another client (e.g. the Element session the token was copied from): give the bot a token of its own device (a fresh login, or user and password) for encrypted rooms, or set End-to-End Encryption to Off",
			);
		if (free === undefined)
			throw new Error('The homeserver did not answer whether the bot device has encryption keys; the encryption device was not started');
		const session = new CryptoSession(
			client,
			this.cryptoSetup(),
			(error) => this.options.onError?.(error, false),
			loadSdk(),
			async (roomId) => {
				const state = await this.rest.request<Record<string, unknown>>('GET', ['rooms', roomId, 'state', 'm.room.encryption', '']);
				return state.ok ? state.value : undefined;
			},
		);
		try {
			if (await session.start()) {
				this.crypto = session;
				return;
			}
			// Another trigger of this bot holds the device: this one decrypts and sends through it.
			await session.close();
			return;
		} catch (error) {
			await session.close();
			// A store that cannot be opened (wrong passphrase, damaged file) must not be replaced by a
			// new account under the same device: stop and let the operator decide.
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: the trigger and runError() map it (CONTRIBUTING.md)
			throw new Error(`The encryption device could not be started (${(error as Error)?.name ?? 'Error'}: ${String((error as Error)?.message ?? '').split('\n')[0].slice(0, 120)})`);
		}
	}

	/**
	 * Chat messages only, up to 100 per room and sync. A sync carries just the last `limit` timeline
	 * events of a room (Synapse's default 10) and marks the rest as a gap (`limited`) that the SDK
	 * does not fetch, so in a busy room — a batch's invites are a member event each — a command
	 * typed between two syncs was dropped without a trace (issue 14).
	 */
	private syncFilter(): Sdk.Filter {
		const filter = new (loadSdk().Filter)(this.userId);
		const types = this.options.followRoomUpgrades ? ['m.room.message', TOMBSTONE] : ['m.room.message'];
		// With crypto: encrypted messages, and the state the crypto needs to see as it changes (who
		// is in the room gets the room key; whether it is encrypted) — incremental syncs carry state
		// only in the timeline, so filtering these out would leave a new member without keys.
		if (this.crypto || this.wantCryptoTypes) types.push('m.room.encrypted', 'm.room.member', 'm.room.encryption');
		filter.setDefinition({ room: { timeline: { types, limit: 100 } } });
		return filter;
	}

	/** Waits until the first sync completed (commands from then on are live). */
	waitUntilPrepared(timeoutMs = 30_000): Promise<boolean> {
		if (this.prepared) return Promise.resolve(true);
		return new Promise((resolve) => {
			const timer = setTimeout(() => done(false), timeoutMs);
			const onSync = (state: string) => {
				if (state === 'PREPARED') done(true);
			};
			const onAbort = () => done(false);
			const done = (value: boolean) => {
				clearTimeout(timer);
				this.client?.off(loadSdk().ClientEvent.Sync, onSync);
				this.controller.signal.removeEventListener('abort', onAbort);
				resolve(value);
			};
			this.client?.on(loadSdk().ClientEvent.Sync, onSync);
			this.controller.signal.addEventListener('abort', onAbort, { once: true });
		});
	}

	/** Stops syncing, aborts requests in flight and leaves no timers or sockets behind. */
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.client?.stopClient();
		this.client?.removeAllListeners();
		this.controller.abort();
		await Promise.allSettled([...this.pending]);
		await this.crypto?.close();
	}

	private async resolveRooms(): Promise<void> {
		const refs = (this.options.rooms ?? []).map((r) => String(r).trim()).filter(Boolean);
		if (!refs.length) return;
		const allowed = new Set<string>();
		for (const raw of refs) {
			// IDs, aliases and matrix.to / matrix: room links; the message never repeats the text.
			const parsed = parseRoomRef(raw);
			if (!parsed.ok) {
				this.options.onError?.(
					new Error(`A room in the room filter is ignored: ${roomRefMessage(parsed.problem)}`),
					false,
				);
				continue;
			}
			const ref = parsed.room;
			if (isRoomId(ref)) allowed.add(ref);
			else {
				const resolved = await this.rest.resolveAlias(ref);
				if (resolved.ok) allowed.add(resolved.value.room_id);
				else
					this.options.onError?.(
						new Error('A room alias in the room filter could not be resolved; it is ignored'),
						false,
					);
			}
		}
		this.allowedRooms = allowed;
	}

	private wantCryptoTypes = false;

	private createSdkClient(withCrypto: boolean): Sdk.MatrixClient {
		this.wantCryptoTypes = withCrypto;
		const sdk = loadSdk();
		const abort = this.controller.signal;
		// The SDK sends the token itself: redirects to another origin are not followed (lib/http/redirect.ts).
		const baseFetch = sameOriginFetch(this.options.fetchFn ?? fetch);
		const fetchFn: typeof fetch = (input, init) => {
			// The SDK's own requests (sync) identify the package like the REST client's (client.ts).
			const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
			headers.set('User-Agent', USER_AGENT);
			const answer = baseFetch(input, {
				...init,
				headers,
				signal: init?.signal ? AbortSignal.any([init.signal, abort]) : abort,
			});
			// The Rust crypto writes its store when such a request was answered: save it soon after.
			const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
			if (withCrypto && /\/(keys\/|sendToDevice\/)/.test(url)) void answer.finally(() => this.crypto?.saveSoon()).catch(() => undefined);
			// A trigger that does not hold the crypto device (another trigger of this bot in this process
			// does) syncs the same device: the room keys its syncs receive, and acknowledge so that the
			// holder's sync may never see them, go to the holder.
			if (!this.crypto && /\/v3\/sync(\?|$)/.test(url) && encryptedSenderFor(this.options.homeserverUrl, this.userId))
				return answer.then((response) => {
					if (response.ok) void this.forwardToDevice(response.clone());
					return response;
				});
			return answer;
		};
		const owner = `${this.options.homeserverUrl}|${this.userId}`;
		const store = new sdk.MemoryStore();
		const saved = this.state.syncTokenOwner === owner ? this.state.syncToken : undefined;
		if (saved) {
			this.resumed = true;
			// Resume from the persisted position instead of a fresh initial sync (which Synapse may
			// serve stale from its two-minute cache after a quick restart).
			store.getSavedSyncToken = async () => saved;
			store.getSavedSync = async () =>
				({
					nextBatch: saved,
					roomsData: { join: {}, invite: {}, leave: {}, knock: {} },
					accountData: [],
				}) as never;
		}
		const client = sdk.createClient({
			baseUrl: this.options.homeserverUrl,
			accessToken: this.options.accessToken,
			userId: this.userId,
			...(this.deviceId ? { deviceId: this.deviceId } : {}),
			logger: quietLogger as never,
			fetchFn,
			store,
			timelineSupport: false,
		});
		this.ownRequestTimeouts(client);
		let connectionLost = false;
		client.on(sdk.ClientEvent.Sync, (state, _prev, data) => {
			if (state === 'PREPARED') this.prepared = true;
			// The SDK retries on its own (polling /versions); tell the operator once per outage.
			if ((state === 'ERROR' || state === 'RECONNECTING') && !connectionLost && !this.closed) {
				connectionLost = true;
				this.options.onError?.(
					new Error('Lost the connection to the homeserver; reconnecting'),
					false,
				);
			} else if (state === 'SYNCING' || state === 'PREPARED') connectionLost = false;
			// Room keys and Olm sessions arrive as to-device events (saved right after, below); any
			// other write of a sync is caught by a save at most once a minute.
			if (state === 'SYNCING' || state === 'PREPARED') this.crypto?.saveOccasionally();
			const token = data?.nextSyncToken;
			if (token && token !== this.state.syncToken) {
				this.state.syncToken = token;
				this.state.syncTokenOwner = owner;
				this.persist();
			}
		});
		if (withCrypto) client.on(sdk.ClientEvent.ToDeviceEvent, () => this.crypto?.saveSoon());
		client.on(sdk.RoomEvent.Timeline, (event, room, toStart, _removed, data) => {
			if (toStart || !data?.liveEvent) return;
			this.track(this.onTimeline(event, room?.roomId ?? event.getRoomId() ?? ''));
		});
		client.on(sdk.RoomMemberEvent.Membership, (event, member) => {
			if (!(this.options.autoJoin || this.options.directMessages) || member.userId !== this.userId || member.membership !== 'invite')
				return;
			this.track(this.onInvite(member.roomId, event.getSender() ?? '', event.getContent()?.is_direct === true));
		});
		client.on(sdk.HttpApiEvent.SessionLoggedOut, () => {
			this.options.onError?.(
				new Error("The homeserver rejected the bot's access token (401); the listener stopped"),
				true,
			);
			void this.close();
		});
		return client;
	}

	/**
	 * The SDK arms a timer per request for its local timeout and never clears it (reference §4
	 * pitfalls), which keeps a process alive for up to 110 s after stopClient(). We run the timeout
	 * ourselves and clear it when the request settles.
	 */
	private ownRequestTimeouts(client: Sdk.MatrixClient): void {
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
				const signals = [
					timeout.signal,
					this.controller.signal,
					...(opts.abortSignal ? [opts.abortSignal] : []),
				];
				return await original(method, url, body, {
					...opts,
					localTimeoutMs: undefined,
					abortSignal: AbortSignal.any(signals),
				});
			} finally {
				clearTimeout(timer);
			}
		};
	}

	private track(promise: Promise<unknown>): void {
		const tracked = promise.catch((error: Error) =>
			this.options.onError?.(
				new Error(`A chat command could not be handled: ${error?.name ?? 'Error'}`),
				false,
			),
		);
		this.pending.add(tracked);
		void tracked.finally(() => this.pending.delete(tracked));
	}

	private persist(): void {
		this.state.seenEventIds = [...this.seen];
		this.options.onState?.({ ...this.state, seenEventIds: [...this.seen] });
	}

	private remember(eventId: string): boolean {
		if (this.seenSet.has(eventId)) return false;
		this.seenSet.add(eventId);
		this.seen.push(eventId);
		while (this.seen.length > this.maxSeen) this.seenSet.delete(this.seen.shift()!);
		return true;
	}

	private async onTimeline(event: Sdk.MatrixEvent, roomId: string): Promise<void> {
		if (!this.closed && event.getType() === TOMBSTONE && this.options.followRoomUpgrades) return this.onTombstone(event, roomId);
		let type = event.getType();
		let content = event.getContent() as Record<string, unknown>;
		if (!this.closed && event.isEncrypted()) {
			const clear = await this.decrypted(event, roomId);
			if (!clear) return;
			({ type, content } = clear);
		}
		// Initial-sync events arrive as "live" before PREPARED (reference §4 pitfalls): the age gate
		// below drops the history among them, and a command typed while we connected still counts.
		if (this.closed || type !== 'm.room.message') return;
		const sender = event.getSender() ?? '';
		const eventId = event.getId() ?? '';
		if (!eventId || !eventId.startsWith('$') || sender === this.userId || event.isRedacted())
			return;
		if (this.allowedRooms && !this.allowedRooms.has(roomId)) return;
		const relation = content['m.relates_to'] as { rel_type?: string } | undefined;
		if (relation?.rel_type === 'm.replace' || content['m.new_content'] !== undefined) return;
		if (content.msgtype !== 'm.text') return;
		// Before our start: history on a fresh start (skipped); typed while we were down when we
		// resumed from the persisted token — run if young enough, else answered as missed.
		const historic = event.getTs() < this.startedAt - (this.options.clockSkewMs ?? 2_000);
		if (historic && !this.resumed) return;
		const stale = historic && this.now() - event.getTs() > this.maxCommandAgeMs;
		const commands = this.options.commands?.length ? this.options.commands : DEFAULT_COMMANDS;
		const parsed = parseCommand(content.body, { prefix: this.options.prefix, commands });
		if (parsed.kind === 'none' || parsed.kind === 'tooLong') return;
		// Another template's command (each template listens for its own): not ours to refuse, or
		// every listener with replyToRefused would answer an attendee's `!claim` typed in a room.
		if (parsed.kind === 'unknown' && !this.options.helpOnUnknown) return;
		if (!this.remember(eventId)) return;
		this.persist();
		const threadId = threadRootOf(content);
		const direct = this.options.directMessages ? await this.isDirect(roomId, sender) : undefined;
		const role = (await this.roleOf(roomId, sender)) ?? (direct ? 'member' : null);
		if (!role) {
			if (this.options.replyToRefused) await this.refuse(roomId, eventId, sender, threadId);
			return;
		}
		if (stale) {
			if (parsed.kind === 'command')
				await this.reply(
					roomId,
					eventId,
					threadId,
					`This command was missed while the bot was offline (older than ${Math.round(this.maxCommandAgeMs / 60_000)} minutes); please repeat it.`,
				);
			return;
		}
		if (parsed.kind === 'unknown') {
			if (this.options.helpOnUnknown)
				await this.reply(
					roomId,
					eventId,
					threadId,
					`Unknown command. ${helpText(this.options.prefix ?? '!', commands)}`,
				);
			return;
		}
		await this.options.onCommand({
			command: parsed.command,
			args: parsed.args,
			text: parsed.text,
			roomId,
			sender,
			role,
			moderatorLevel: this.options.minPowerLevel ?? 50,
			...(direct === undefined ? {} : { direct }),
			eventId,
			...(threadId ? { threadId } : {}),
			timestamp: new Date(event.getTs()).toISOString(),
		});
	}

	/**
	 * An encrypted event's clear type and content. Only events that could be commands for us are
	 * worth it (another's, in a room we listen in, not history skipped anyway). The listener that
	 * holds the bot's crypto device decrypts itself; another trigger of the same bot in this process
	 * (templates each have their own) asks the holder, whose sync receives the same room keys —
	 * one Olm account, never two. An event without its room key is reported to the operator once
	 * (no IDs) and handled when the key arrives later.
	 */
	private async decrypted(event: Sdk.MatrixEvent, roomId: string): Promise<{ type: string; content: Record<string, unknown> } | undefined> {
		if (!this.client || !this.wantCryptoTypes) return undefined;
		if ((event.getSender() ?? '') === this.userId) return undefined;
		if (this.allowedRooms && !this.allowedRooms.has(roomId)) return undefined;
		const historic = event.getTs() < this.startedAt - (this.options.clockSkewMs ?? 2_000);
		if (historic && !this.resumed) return undefined;
		if (this.crypto) {
			await this.client.decryptEventIfNeeded(event);
			if (!event.isDecryptionFailure()) return { type: event.getType(), content: event.getContent() as Record<string, unknown> };
			event.once(loadSdk().MatrixEventEvent.Decrypted, (again) => {
				if (!again.isDecryptionFailure()) this.track(this.onTimeline(again, roomId));
			});
			this.tellUndecryptable();
			return undefined;
		}
		// The holder's sync may not have brought the room key yet: it decrypts the event the moment
		// the key comes, for about a minute (and a holder that is not there yet is asked again).
		const raw = { ...(event.event as Record<string, unknown>), room_id: roomId };
		for (let attempt = 0; attempt < 7 && !this.closed; attempt++) {
			const waitMs = backoffMs(attempt, 1000, 16_000);
			const askedAt = Date.now();
			const holder = encryptedSenderFor(this.options.homeserverUrl, this.userId);
			const clear = holder ? await holder.decrypt(raw, { waitMs, signal: this.controller.signal }).catch(() => undefined) : undefined;
			if (clear) return clear;
			if (attempt === 2) this.tellUndecryptable();
			// No holder yet, or it answered early without the key (a failed retry, a holder closing).
			const left = waitMs - (Date.now() - askedAt);
			if (left > 0) await sleepMs(left, this.controller.signal).catch(() => undefined);
		}
		return undefined;
	}

	private async forwardToDevice(response: Response): Promise<void> {
		const body = (await response.json().catch(() => undefined)) as { to_device?: { events?: unknown } } | undefined;
		const events = body?.to_device?.events;
		if (!Array.isArray(events) || !events.length) return;
		await encryptedSenderFor(this.options.homeserverUrl, this.userId)?.receiveToDevice(events).catch(() => undefined);
	}

	private tellUndecryptable(): void {
		if (this.toldUndecryptable) return;
		this.toldUndecryptable = true;
		this.options.onError?.(
			new Error(
				"A message in an encrypted room could not be decrypted: the sender's client has not shared its room key with the bot's device (yet). It is handled if the key arrives; otherwise ask the sender to verify the bot's device or to send it again",
			),
			false,
		);
	}

	/**
	 * A tombstone (spec "Room Upgrades"): only a state event with state key "" counts, and the
	 * homeserver lets only a sender with the power to send m.room.tombstone (100 by default) put one
	 * into the room state, so whoever sent it needs no check here. History on a fresh start is
	 * skipped like commands (no sync token: nothing to resume); after a resume an upgrade is followed
	 * however old, since the room stays replaced. Joined via the sender's server (the server that
	 * upgraded the room is in the new one).
	 */
	private async onTombstone(event: Sdk.MatrixEvent, roomId: string): Promise<void> {
		const eventId = event.getId() ?? '';
		if (!eventId.startsWith('$') || event.getStateKey() !== '' || event.isRedacted()) return;
		if (this.allowedRooms && !this.allowedRooms.has(roomId)) return;
		const replacementRoom = (event.getContent() as { replacement_room?: unknown }).replacement_room;
		if (typeof replacementRoom !== 'string' || !isRoomId(replacementRoom) || replacementRoom === roomId) return;
		const historic = event.getTs() < this.startedAt - (this.options.clockSkewMs ?? 2_000);
		if (historic && !this.resumed) return;
		if (!this.remember(eventId)) return;
		this.persist();
		const sender = event.getSender() ?? '';
		const server = sender.slice(sender.indexOf(':') + 1);
		const joined = await withRetries(() => this.rest.join(replacementRoom, server && sender.includes(':') ? [server] : []), {
			deadline: Date.now() + (this.options.replyBudgetMs ?? 60_000),
			signal: this.controller.signal,
		});
		if (!joined.ok && !this.closed)
			this.options.onError?.(new Error(`Could not join the replacement room of an upgraded room (${describeFailure(joined)})`), false);
		// The trigger follows the room: commands typed in the replacement room count from now on.
		this.allowedRooms?.add(replacementRoom);
		await this.options.onRoomUpgrade?.({
			kind: 'roomUpgrade',
			roomId,
			replacementRoom,
			joined: joined.ok,
			eventId,
			timestamp: new Date(event.getTs()).toISOString(),
		});
	}

	private isBotAdmin(userId: string): boolean {
		if ((this.options.permissionMode ?? 'allowlistOrPowerLevel') === 'powerLevel') return false;
		return (this.options.allowlist ?? []).map((id) => id.trim()).includes(userId);
	}

	/** The sender's role here, or null when they may not command the bot in this room. */
	private async roleOf(roomId: string, userId: string): Promise<CommandRole | null> {
		const mode = this.options.permissionMode ?? 'allowlistOrPowerLevel';
		const admin = this.isBotAdmin(userId);
		if (mode === 'allowlist') return admin ? 'admin' : null;
		if (mode === 'allowlistOrPowerLevel' && admin) return 'admin';
		if (mode === 'allowlistAndPowerLevel' && !admin) return null;
		// A transient 429/5xx/network failure must not drop a moderator's command (it is already
		// remembered as seen), so retry those for a while before deciding.
		const levels = await readRoomPowerLevels(this.rest, roomId, {
			deadline: Date.now() + POWER_LEVEL_RETRY_MS,
			signal: this.controller.signal,
		});
		// Fail closed: when the power levels cannot be read, nobody is a moderator.
		if (!levels.ok) return null;
		const moderator = levelOf(levels.value, userId) >= (this.options.minPowerLevel ?? 50);
		if (!moderator) return null;
		return admin ? 'admin' : 'moderator';
	}

	/**
	 * A direct message: a room the bot shares with the sender alone, without a published alias and
	 * not open to anyone (an event room where only an organizer has joined yet is no DM), whatever
	 * the clients' `m.direct` bookkeeping says. Fails closed (not direct) when the state cannot be read.
	 */
	private async isDirect(roomId: string, sender: string): Promise<boolean> {
		const state = await this.rest.request<Array<{ type?: unknown; state_key?: unknown; content?: Record<string, unknown> }>>('GET', ['rooms', roomId, 'state']);
		if (!state.ok || !Array.isArray(state.value)) return false;
		const joined = state.value.filter((e) => e?.type === 'm.room.member' && e.content?.membership === 'join').map((e) => String(e.state_key));
		const alias = state.value.find((e) => e?.type === 'm.room.canonical_alias')?.content;
		const rule = state.value.find((e) => e?.type === 'm.room.join_rules')?.content?.join_rule;
		const published = !!alias && (typeof alias.alias === 'string' || (Array.isArray(alias.alt_aliases) && alias.alt_aliases.length > 0));
		return joined.length === 2 && joined.includes(this.userId) && joined.includes(sender) && !published && rule !== 'public';
	}

	/**
	 * Auto-Join follows invites from bot admins only: anybody can create a room (and be its
	 * creator there), so an invite from anyone else proves nothing about their authority. With
	 * `directMessages`, a direct-message invite (`is_direct`) from anyone is joined too: it gives
	 * its inviter no authority, only a private room to talk to the bot.
	 */
	private async onInvite(roomId: string, inviter: string, isDirect = false): Promise<void> {
		if (this.closed || this.joinedOnInvite.has(roomId)) return;
		if (this.allowedRooms && !this.allowedRooms.has(roomId)) return;
		const fromAdmin = this.options.autoJoin === true && this.isBotAdmin(inviter);
		if (!fromAdmin && !(this.options.directMessages && isDirect)) return;
		this.joinedOnInvite.add(roomId);
		const joined = await this.rest.join(roomId);
		if (!joined.ok) {
			this.joinedOnInvite.delete(roomId);
			this.options.onError?.(new Error('Could not join a room the bot was invited to'), false);
		}
	}

	private get maxCommandAgeMs(): number {
		const age = this.options.maxCommandAgeMs;
		return typeof age === 'number' && Number.isFinite(age) && age >= 0 ? age : 10 * 60_000;
	}

	/**
	 * One refusal per sender and minute, so refused users cannot make the bot spam the room; only a
	 * delivered refusal counts (one the homeserver rate-limited away does not silence the next).
	 */
	private async refuse(roomId: string, eventId: string, sender: string, threadId?: string): Promise<void> {
		const previous = this.refusing.get(sender) ?? Promise.resolve();
		const attempt = previous.then(async () => {
			const last = this.refusedAt.get(sender) ?? -Infinity;
			if (this.now() - last <= 60_000) return;
			if (await this.reply(roomId, eventId, threadId, 'Sorry, you are not allowed to use bot commands here.'))
				this.refusedAt.set(sender, this.now());
		});
		this.refusing.set(sender, attempt);
		try {
			await attempt;
		} finally {
			if (this.refusing.get(sender) === attempt) this.refusing.delete(sender);
		}
	}

	/**
	 * A notice in reply to the command, retried through 429 (after the server's retry_after_ms),
	 * 5xx and network failures within the reply budget; the transaction id (one per command) makes
	 * the retries post once. Resolves whether it was delivered.
	 */
	private async reply(roomId: string, eventId: string, threadId: string | undefined, text: string): Promise<boolean> {
		const content = buildNoticeContent({ room: roomId, text, replyTo: eventId, threadRoot: threadId });
		const txnId = txnIdFor('listener-reply', eventId);
		// Never plaintext into an encrypted room: through the crypto device, or not at all. The SDK's
		// room may not know (after a resumed restart it has not seen the room's state), so ask the
		// homeserver unless the SDK already says so; when it cannot tell, send nothing.
		const encrypted = this.client?.getRoom(roomId)?.hasEncryptionStateEvent() || (await roomIsEncrypted(this.rest, roomId));
		if (encrypted !== false) {
			if (encrypted === undefined) {
				this.options.onError?.(new Error('A reply was not sent: the homeserver did not say whether the room is encrypted'), false);
				return false;
			}
			return this.replyEncrypted(roomId, content, txnId);
		}
		const sent = await withRetries(() => this.rest.send(roomId, 'm.room.message', txnId, content), {
			deadline: Date.now() + (this.options.replyBudgetMs ?? 60_000),
			maxRetries: Number.POSITIVE_INFINITY,
			signal: this.controller.signal,
		});
		if (!sent.ok && !this.closed)
			this.options.onError?.(
				new Error(`A reply could not be delivered (${describeFailure(sent)})`),
				false,
			);
		return sent.ok;
	}

	private async replyEncrypted(roomId: string, content: Record<string, unknown>, txnId: string): Promise<boolean> {
		const sender = this.crypto ?? (this.wantCryptoTypes ? encryptedSenderFor(this.options.homeserverUrl, this.userId) : undefined);
		if (!sender) {
			if (!this.toldNoCrypto) {
				this.toldNoCrypto = true;
				this.options.onError?.(
					new Error('A reply into an encrypted room was not sent: this trigger runs without encryption (option End-to-End Encryption)'),
					false,
				);
			}
			return false;
		}
		const deadline = Date.now() + (this.options.replyBudgetMs ?? 60_000);
		for (let attempt = 0; ; attempt++) {
			try {
				await sender.sendEncrypted(roomId, content, txnId);
				return true;
			} catch (error) {
				const wait = backoffMs(attempt, 1000, 15_000);
				if (this.closed || error instanceof EncryptedRoomError || Date.now() + wait > deadline) {
					if (!this.closed)
						this.options.onError?.(new Error(`An encrypted reply could not be delivered (${(error as Error)?.name ?? 'Error'})`), false);
					return false;
				}
				await sleepMs(wait, this.controller.signal).catch(() => undefined);
			}
		}
	}
}
