/**
 * A strict, in-memory Matrix homeserver for tests, benchmarks and demos. Every status code, errcode
 * and error message mirrors the observations in ../../shared/reference/matrix-api.md (Synapse 1.67 /
 * HEAD); rate limits, their order and transaction IDs copy Synapse's source (see rate-limit.ts,
 * rate-limits.ts, transactions.ts and the routes below). Built on node:http only; binds 127.0.0.1
 * on a random port.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import {
	createEventContent,
	creatorEntry,
	supportsKnockRestricted,
	supportsRestricted,
	userPowerLevel,
} from './room-versions';
import { SynapseAdminApi } from './admin';
import { FakeE2ee } from './e2ee';
import { realClock, scaledClock, type FakeClock } from './clock';
import { DelayedError, forbidden, HttpError, notFound, unrecognized } from './errors';
import type { RateLimitOptions } from './rate-limit';
import { HomeserverRateLimits } from './rate-limits';
import { TransactionCache, type TransactionScope, type TxnSession } from './transactions';

export interface MatrixEvent {
	type: string;
	sender: string;
	content: Record<string, unknown>;
	state_key?: string;
	origin_server_ts: number;
	event_id: string;
	room_id: string;
	unsigned?: Record<string, unknown>;
}

interface StoredEvent {
	pos: number;
	event: MatrixEvent;
	/** Who sent it and its transaction id (echoed in /sync to the same transaction space). */
	txn?: { session: TxnSession; txnId: string };
}

interface Room {
	id: string;
	state: Map<string, StoredEvent>;
	events: StoredEvent[];
}

interface User {
	id: string;
	password?: string;
	displayname?: string;
	remote: boolean;
	devices: Set<string>;
	blocksInvites: boolean;
	/** A Synapse server admin (may use the admin API). */
	admin: boolean;
}

interface Session {
	userId: string;
	deviceId: string;
	token: string;
}

export interface FaultOptions {
	/** Share (0..1) of requests answered with `errorStatus` instead of being handled. */
	errorRate?: number;
	errorStatus?: number;
	/** Delay before every answer, in ms. */
	latencyMs?: number;
	/** Only requests whose path matches are affected (default: all but /versions). */
	paths?: RegExp;
}

export type DownMode = false | 'refuse' | 'reset';

export interface RequestLogEntry {
	method: string;
	path: string;
	/** The query string without any access token (e.g. `since=s12&timeout=30000`). */
	query: string;
	/** 0 while the request is still being answered (e.g. a /sync long-poll). */
	status: number;
	userId?: string;
	errcode?: string;
	/** The client's User-Agent header, as sent. */
	userAgent?: string;
	at: number;
}

export interface FakeHomeserverOptions {
	serverName?: string;
	/** Synapse defaults unless overridden; `false` disables a limiter, `rateLimits: false` all of them. */
	rateLimits?: RateLimitOptions | false;
	/** Send `Retry-After` with 429 as Synapse ≥ 1.103 does. Default false: 1.67 sends the body only. */
	retryAfterHeader?: boolean;
	/** Wait before answering a 429 (Synapse ≥ 1.108: 500 ms). Default 0 (1.67). Homeserver clock. */
	rateLimitedPauseMs?: number;
	/** Transaction IDs are per access token (1.67, default) or per device (HEAD, MSC3970). */
	transactionScope?: TransactionScope;
	/** The homeserver's clock (rate limits, txn expiry, delays). Default: real time. */
	clock?: FakeClock;
	/** Shorthand for `clock: scaledClock(timeScale)`: time runs that many times faster. */
	timeScale?: number;
	/** Key per-IP limits by `X-Forwarded-For` (Synapse listener `x_forwarded: true`). Default false. */
	trustForwardedFor?: boolean;
	faults?: FaultOptions;
	/** Delay before a 502 for an unreachable remote server (Synapse takes ~3.8 s). Default 0. */
	unreachableDelayMs?: number;
	/** Deterministic fault injection. */
	seed?: number;
	port?: number;
}

type Json = Record<string, unknown>;

const DEFAULT_POWER_LEVELS = {
	users_default: 0,
	events: {
		'm.room.name': 50,
		'm.room.power_levels': 100,
		'm.room.history_visibility': 100,
		'm.room.canonical_alias': 50,
		'm.room.avatar': 50,
		'm.room.tombstone': 100,
		'm.room.server_acl': 100,
		'm.room.encryption': 100,
	},
	events_default: 0,
	state_default: 50,
	ban: 50,
	kick: 50,
	redact: 50,
	invite: 0,
	historical: 100,
};

const stateKey = (type: string, key: string) => `${type}\u0000${key}`;

/** Synapse's `parse_and_validate_server_name`: invalid names are "denied" by the federation client. */
export function isValidServerName(name: string): boolean {
	let host = name;
	if (!name.endsWith(']')) {
		const colon = name.lastIndexOf(':');
		if (colon >= 0) {
			if (!/^\d+$/.test(name.slice(colon + 1))) return false;
			host = name.slice(0, colon);
		}
	}
	if (host.startsWith('[')) return host.endsWith(']') && isIPv6(host.slice(1, -1));
	return /^[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*$/.test(host);
}

function portOutOfRange(name: string): boolean {
	const match = /:(\d+)$/.exec(name);
	return !!match && !name.endsWith(']') && (Number(match[1]) < 1 || Number(match[1]) > 65535);
}

function matchesTypes(type: string, types?: unknown, notTypes?: unknown): boolean {
	const match = (patterns: unknown) =>
		Array.isArray(patterns) &&
		patterns.some(
			(p) =>
				typeof p === 'string' &&
				(p === type || (p.endsWith('*') && type.startsWith(p.slice(0, -1)))),
		);
	if (Array.isArray(notTypes) && match(notTypes)) return false;
	if (Array.isArray(types)) return match(types);
	return true;
}

export class FakeHomeserver {
	readonly serverName: string;
	url = '';
	private server: Server;
	private port = 0;
	private readonly sockets = new Set<Socket>();
	private readonly users = new Map<string, User>();
	private readonly sessions = new Map<string, Session>();
	private readonly rooms = new Map<string, Room>();
	private readonly aliases = new Map<string, string>();
	private readonly filters = new Map<string, Json[]>();
	private readonly remoteServers = new Map<string, 'reachable' | 'unreachable'>();
	/** The homeserver's time: rate limits, transaction expiry and delays read it. */
	readonly clock: FakeClock;
	readonly limits: HomeserverRateLimits;
	private readonly transactions: TransactionCache;
	/** Registration tokens (admin API) and token-authenticated registration: admin.ts. */
	readonly admin: SynapseAdminApi;
	/** Device keys, one-time keys, to-device messages, device lists: e2ee.ts. */
	readonly e2ee: FakeE2ee;
	private readonly inviteCounts = new Map<string, number>();
	private readonly waiters = new Set<() => void>();
	private readonly log: RequestLogEntry[] = [];
	private pos = 0;
	private faults: FaultOptions;
	private readonly failQueue: Array<{ status: number; path?: RegExp; body?: Json }> = [];
	private down: DownMode = false;
	private random: () => number;
	private stopped = false;
	retryAfterHeader: boolean;
	rateLimitedPauseMs: number;
	unreachableDelayMs: number;
	trustForwardedFor: boolean;

	constructor(private readonly options: FakeHomeserverOptions = {}) {
		this.serverName = options.serverName ?? 'localhost';
		this.retryAfterHeader = options.retryAfterHeader ?? false;
		this.rateLimitedPauseMs = options.rateLimitedPauseMs ?? 0;
		this.unreachableDelayMs = options.unreachableDelayMs ?? 0;
		this.trustForwardedFor = options.trustForwardedFor ?? false;
		this.clock =
			options.clock ??
			(options.timeScale !== undefined && options.timeScale !== 1
				? scaledClock(options.timeScale)
				: realClock);
		this.limits = new HomeserverRateLimits(this.clock, () => ({
			retryAfterHeader: this.retryAfterHeader,
			pauseMs: this.rateLimitedPauseMs,
		}));
		this.transactions = new TransactionCache(this.clock, options.transactionScope);
		this.admin = new SynapseAdminApi({
			serverName: this.serverName,
			auth: (req, url) => this.auth(req, url),
			isAdmin: (userId) => this.users.get(userId)?.admin === true,
			userExists: (userId) => this.users.has(userId),
			register: (localpart, password) => this.createUser(localpart, { password }),
			now: () => this.clock.now(),
		});
		this.e2ee = new FakeE2ee({
			nextPos: () => ++this.pos,
			wake: () => this.wake(),
			devicesOf: (userId) => [...(this.users.get(userId)?.devices ?? [])],
			sharedUsers: (userId) => {
				const users = new Set<string>([userId]);
				for (const room of this.rooms.values())
					if (this.membershipOf(room, userId) === 'join')
						for (const [key, stored] of room.state)
							if (key.startsWith('m.room.member\u0000') && stored.event.content.membership === 'join')
								users.add(stored.event.state_key!);
				return users;
			},
			joinedSince: (userId, since, upTo) => {
				const users = new Set<string>();
				for (const room of this.rooms.values()) {
					if (this.membershipOf(room, userId) !== 'join') continue;
					for (const s of room.events)
						if (s.pos > since && s.pos <= upTo && s.event.type === 'm.room.member' && s.event.content.membership === 'join')
							users.add(s.event.state_key!);
				}
				return users;
			},
		});
		this.faults = options.faults ?? {};
		let seed = options.seed ?? 0x2f6b1a3;
		// mulberry32: reproducible fault patterns across runs
		this.random = () => {
			seed = (seed + 0x6d2b79f5) | 0;
			let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
			t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
			return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
		};
		this.setRateLimits(options.rateLimits ?? {});
		this.server = this.createHttpServer();
	}

	private createHttpServer(): Server {
		const server = createServer((req, res) => void this.handle(req, res));
		server.keepAliveTimeout = 5_000;
		server.on('connection', (socket) => {
			if (this.down === 'reset') {
				socket.destroy();
				return;
			}
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
		});
		return server;
	}

	async start(): Promise<this> {
		await new Promise<void>((resolve, reject) => {
			this.server.once('error', reject);
			this.server.listen(this.port || this.options.port || 0, '127.0.0.1', () => resolve());
		});
		const address = this.server.address();
		if (address && typeof address === 'object') this.port = address.port;
		this.url = `http://127.0.0.1:${this.port}`;
		return this;
	}

	async stop(): Promise<void> {
		this.stopped = true;
		this.wake();
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	// ---------------------------------------------------------------- test controls

	/** Replaces every limiter (all buckets start empty): Synapse defaults for those not named. */
	setRateLimits(options: RateLimitOptions | false): void {
		this.limits.configure(options);
	}

	/**
	 * Like Synapse's admin `override_ratelimit` with 0 messages per second: the user passes every
	 * limiter that is checked with a requester (invites, messages, joins; not login).
	 */
	exemptFromRateLimits(userId: string, exempt = true): void {
		this.limits.setOverride(userId, exempt ? { messagesPerSecond: 0, burstCount: 0 } : undefined);
	}

	/** Makes a local user a Synapse server admin (or not): only admins may use the admin API. */
	setAdmin(userId: string, admin = true): void {
		const user = this.users.get(userId);
		if (!user || user.remote) throw new Error('fake homeserver: admins must be local users');
		user.admin = admin;
	}

	setFaults(faults: FaultOptions): void {
		this.faults = faults;
	}

	/** The next `count` matching requests get `status` (default 500 M_UNKNOWN). */
	failNext(count: number, options: { status?: number; path?: RegExp; body?: Json } = {}): void {
		for (let i = 0; i < count; i++)
			this.failQueue.push({
				status: options.status ?? 500,
				path: options.path,
				body: options.body,
			});
	}

	/** 'refuse': the port stops listening (ECONNREFUSED); 'reset': connections are accepted then destroyed. */
	async setDown(mode: DownMode): Promise<void> {
		const was = this.down;
		this.down = mode;
		if (mode) for (const socket of this.sockets) socket.destroy();
		this.wake();
		if (mode === 'refuse' && was !== 'refuse') {
			await new Promise<void>((resolve) => this.server.close(() => resolve()));
		} else if (mode !== 'refuse' && was === 'refuse') {
			this.server = this.createHttpServer();
			await this.start();
		}
	}

	setRemoteServer(name: string, state: 'reachable' | 'unreachable'): void {
		this.remoteServers.set(name, state);
	}

	createUser(
		idOrLocalpart: string,
		options: { password?: string; displayname?: string; admin?: boolean } = {},
	) {
		const userId = idOrLocalpart.startsWith('@')
			? idOrLocalpart
			: `@${idOrLocalpart}:${this.serverName}`;
		const server = userId.slice(userId.indexOf(':') + 1);
		const remote = server !== this.serverName;
		if (remote && !this.remoteServers.has(server)) this.remoteServers.set(server, 'reachable');
		const user: User = {
			id: userId,
			password: options.password,
			displayname: options.displayname ?? userId.slice(1, userId.indexOf(':')),
			remote,
			devices: new Set(),
			blocksInvites: false,
			admin: !remote && options.admin === true,
		};
		this.users.set(userId, user);
		if (remote) return { userId, accessToken: '', deviceId: '' };
		const deviceId = this.newDeviceId();
		user.devices.add(deviceId);
		return { userId, accessToken: this.newSession(userId, deviceId), deviceId };
	}

	blockInvites(userId: string, blocked = true): void {
		const user = this.users.get(userId);
		if (user) user.blocksInvites = blocked;
	}

	createRoom(options: {
		creator: string;
		name?: string;
		alias?: string;
		preset?: 'private_chat' | 'public_chat';
		members?: string[];
		invited?: string[];
		powerLevels?: Json;
		/** Room version (default 10); `additionalCreators` (v12+) and no power-levels event: room-versions.ts. */
		roomVersion?: string;
		additionalCreators?: string[];
		withoutPowerLevels?: boolean;
		/** `m.space` makes a space (spec "Spaces": the create event's `type`). */
		roomType?: string;
	}): string {
		const roomId = `!${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}:${this.serverName}`;
		const room: Room = { id: roomId, state: new Map(), events: [] };
		this.rooms.set(roomId, room);
		const c = options.creator;
		this.append(room, {
			type: 'm.room.create',
			sender: c,
			state_key: '',
			content: {
				...createEventContent(options.roomVersion ?? '10', c, options.additionalCreators),
				...(options.roomType ? { type: options.roomType } : {}),
			},
		});
		this.append(room, this.memberEvent(c, c, 'join'));
		if (!options.withoutPowerLevels) this.append(room, {
			type: 'm.room.power_levels',
			sender: c,
			state_key: '',
			content: {
				...structuredClone(DEFAULT_POWER_LEVELS),
				users: creatorEntry(options.roomVersion ?? '10', c),
				...(options.powerLevels ?? {}),
			},
		});
		const joinRule = options.preset === 'public_chat' ? 'public' : 'invite';
		this.append(room, {
			type: 'm.room.join_rules',
			sender: c,
			state_key: '',
			content: { join_rule: joinRule },
		});
		this.append(room, {
			type: 'm.room.history_visibility',
			sender: c,
			state_key: '',
			content: { history_visibility: 'shared' },
		});
		if (options.name)
			this.append(room, {
				type: 'm.room.name',
				sender: c,
				state_key: '',
				content: { name: options.name },
			});
		if (options.alias) {
			this.aliases.set(options.alias, roomId);
			this.append(room, {
				type: 'm.room.canonical_alias',
				sender: c,
				state_key: '',
				content: { alias: options.alias },
			});
		}
		for (const member of options.members ?? [])
			this.append(room, this.memberEvent(member, member, 'join'));
		for (const invitee of options.invited ?? [])
			this.append(room, this.memberEvent(c, invitee, 'invite'));
		this.wake();
		return roomId;
	}

	addAlias(alias: string, roomId: string): void {
		this.aliases.set(alias, roomId);
	}

	/** Low-level membership change, bypassing auth rules (set-up only). */
	setMembership(
		roomId: string,
		userId: string,
		membership: string,
		options: { sender?: string; reason?: string; isDirect?: boolean } = {},
	): void {
		const room = this.requireRoom(roomId);
		const event = this.memberEvent(options.sender ?? userId, userId, membership, options.reason);
		// handlers/room.py `create_room`: invites of an `is_direct` room carry `is_direct: true`.
		if (options.isDirect) event.content.is_direct = true;
		this.append(room, event);
		this.wake();
	}

	setPowerLevel(roomId: string, userId: string, level: number): void {
		const room = this.requireRoom(roomId);
		const content = structuredClone(this.powerLevels(room));
		(content.users as Json)[userId] = level;
		this.append(room, {
			type: 'm.room.power_levels',
			sender: this.creatorOf(room),
			state_key: '',
			content,
		});
		this.wake();
	}

	/** Merges top-level keys (`invite`, `kick`, `users`, …) into the room's power levels. */
	setPowerLevels(roomId: string, patch: Json): void {
		const room = this.requireRoom(roomId);
		const content = { ...structuredClone(this.powerLevels(room)), ...patch };
		this.append(room, {
			type: 'm.room.power_levels',
			sender: this.creatorOf(room),
			state_key: '',
			content,
		});
		this.wake();
	}

	/**
	 * Any state event, bypassing auth rules (set-up only, like setMembership): e.g. `m.room.encryption`
	 * (`{algorithm: 'm.megolm.v1.aes-sha2'}`), `m.room.tombstone` (`{body, replacement_room}`) or
	 * `m.room.join_rules` (`{join_rule: 'restricted', allow: [...]}`), with the shapes of the spec's
	 * "Room Events" section. Sent by the room's creator unless `sender` is given; state key "".
	 */
	setState(
		roomId: string,
		type: string,
		content: Json,
		options: { stateKey?: string; sender?: string } = {},
	): void {
		const room = this.requireRoom(roomId);
		this.append(room, {
			type,
			sender: options.sender ?? this.creatorOf(room),
			state_key: options.stateKey ?? '',
			content: structuredClone(content),
		});
		this.wake();
	}

	/** A user types into a room (as a client would send it). Returns the event id. */
	say(
		userId: string,
		roomId: string,
		body: string,
		options: {
			msgtype?: string;
			html?: string;
			replaces?: string;
			/** A message in the thread of this root event (as Element sends it, with the reply fallback). */
			thread?: string;
			content?: Json;
			ts?: number;
			/** Another event type with `content` as it is, e.g. `m.room.encrypted` (a client's ciphertext). */
			type?: string;
		} = {},
	): string {
		const room = this.requireRoom(roomId);
		let content: Json = options.content ?? { msgtype: options.msgtype ?? 'm.text', body };
		if (options.html)
			content = { ...content, format: 'org.matrix.custom.html', formatted_body: options.html };
		if (options.replaces) {
			content = {
				msgtype: 'm.text',
				body: `* ${body}`,
				'm.new_content': { msgtype: 'm.text', body },
				'm.relates_to': { rel_type: 'm.replace', event_id: options.replaces },
			};
		}
		if (options.thread) {
			content = {
				...content,
				'm.relates_to': {
					rel_type: 'm.thread',
					event_id: options.thread,
					is_falling_back: true,
					'm.in_reply_to': { event_id: options.thread },
				},
			};
		}
		const stored = this.append(
			room,
			{ type: options.type ?? 'm.room.message', sender: userId, content },
			options.ts,
		);
		this.wake();
		return stored.event.event_id;
	}

	membership(roomId: string, userId: string): string | undefined {
		const room = this.rooms.get(roomId);
		return room ? this.membershipOf(room, userId) : undefined;
	}

	/** Current membership of everyone the room has a member event for. */
	members(roomId: string): Record<string, string> {
		const room = this.requireRoom(roomId);
		const out: Record<string, string> = {};
		for (const stored of room.state.values()) {
			if (stored.event.type === 'm.room.member')
				out[stored.event.state_key!] = String(stored.event.content.membership);
		}
		return out;
	}

	roomState(roomId: string): MatrixEvent[] {
		return [...this.requireRoom(roomId).state.values()].map((s) => this.render(s));
	}

	/** Every event of the room in order (`type` filters, e.g. 'm.room.message'). */
	timeline(roomId: string, type?: string): MatrixEvent[] {
		return this.requireRoom(roomId)
			.events.filter((s) => !type || s.event.type === type)
			.map((s) => this.render(s));
	}

	/** How many invite requests for (room, user) were answered 200. Proves exactly-once. */
	inviteCount(roomId: string, userId: string): number {
		return this.inviteCounts.get(`${roomId}|${userId}`) ?? 0;
	}

	requests(): RequestLogEntry[] {
		return [...this.log];
	}

	countRequests(filter: { method?: string; path?: RegExp; status?: number } = {}): number {
		return this.log.filter(
			(e) =>
				(!filter.method || e.method === filter.method) &&
				(!filter.path || filter.path.test(e.path)) &&
				(filter.status === undefined || e.status === filter.status),
		).length;
	}

	clearLog(): void {
		this.log.length = 0;
	}

	deviceCount(userId: string): number {
		return this.users.get(userId)?.devices.size ?? 0;
	}

	// ---------------------------------------------------------------- internals

	private newDeviceId(): string {
		return Array.from(randomBytes(10), (b) => String.fromCharCode(65 + (b % 26))).join('');
	}

	private newSession(userId: string, deviceId: string): string {
		const token = `syt_${Buffer.from(userId.slice(1, userId.indexOf(':'))).toString('base64url')}_${randomBytes(15).toString('base64url')}`;
		this.sessions.set(token, { userId, deviceId, token });
		return token;
	}

	private requireRoom(roomId: string): Room {
		const room = this.rooms.get(roomId);
		if (!room) throw new Error('fake homeserver: unknown room');
		return room;
	}

	private createEvent(room: Room): MatrixEvent {
		return room.state.get(stateKey('m.room.create', ''))!.event;
	}

	private creatorOf(room: Room): string {
		return room.state.get(stateKey('m.room.create', ''))!.event.sender;
	}

	private memberEvent(sender: string, target: string, membership: string, reason?: string) {
		const content: Json = { membership };
		if (membership === 'join' || membership === 'invite') {
			const name = this.users.get(target)?.displayname;
			if (name) content.displayname = name;
		}
		if (reason) content.reason = reason;
		return { type: 'm.room.member', sender, state_key: target, content };
	}

	private append(
		room: Room,
		partial: { type: string; sender: string; content: Json; state_key?: string },
		ts?: number,
		txn?: StoredEvent['txn'],
	): StoredEvent {
		const event: MatrixEvent = {
			...partial,
			origin_server_ts: ts ?? Date.now(),
			event_id: `$${randomBytes(32).toString('base64url')}`,
			room_id: room.id,
		};
		const stored: StoredEvent = { pos: ++this.pos, event, txn };
		room.events.push(stored);
		if (partial.state_key !== undefined)
			room.state.set(stateKey(partial.type, partial.state_key), stored);
		return stored;
	}

	private render(stored: StoredEvent, viewer?: Session, withRoomId = true): MatrixEvent {
		const event: MatrixEvent = {
			...stored.event,
			unsigned: { age: Math.max(0, Date.now() - stored.event.origin_server_ts) },
		};
		// Echoed only within the transaction space that sent it (1.67: the same access token).
		if (stored.txn && viewer && this.transactions.sameTransactionSpace(stored.txn.session, viewer))
			event.unsigned!.transaction_id = stored.txn.txnId;
		if (!withRoomId) delete (event as Partial<MatrixEvent>).room_id;
		return event;
	}

	private membershipOf(room: Room, userId: string): string | undefined {
		return room.state.get(stateKey('m.room.member', userId))?.event.content.membership as
			string | undefined;
	}

	private powerLevels(room: Room): Json & { users: Json } {
		const content = room.state.get(stateKey('m.room.power_levels', ''))?.event.content ?? {};
		return { users: {}, ...content } as Json & { users: Json };
	}

	private levelOf(room: Room, userId: string): number {
		const create = room.state.get(stateKey('m.room.create', ''))!.event;
		return userPowerLevel(create, room.state.get(stateKey('m.room.power_levels', ''))?.event.content, userId);
	}

	private required(room: Room, action: 'invite' | 'kick' | 'ban' | 'redact'): number {
		const value = this.powerLevels(room)[action];
		return typeof value === 'number' ? value : action === 'invite' ? 0 : 50;
	}

	private wake(): void {
		for (const waiter of [...this.waiters]) waiter();
	}

	// ---------------------------------------------------------------- HTTP

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://fake');
		// Logged on arrival (status 0 until answered), so a pending long-poll is visible to tests.
		const query = new URLSearchParams(url.search);
		query.delete('access_token');
		const entry: RequestLogEntry = {
			method: req.method ?? 'GET',
			path: url.pathname,
			query: query.toString(),
			status: 0,
			userAgent: req.headers['user-agent'],
			at: Date.now(),
		};
		this.log.push(entry);
		let status = 200;
		let payload: unknown;
		let headers: Record<string, string> = {};
		try {
			const body = await readBody(req);
			const affected = (this.faults.paths ?? /^(?!\/_matrix\/client\/versions$)/).test(
				url.pathname,
			);
			if (this.faults.latencyMs && affected) await this.clock.sleep(this.faults.latencyMs);
			const queued = this.failQueue.findIndex((f) => !f.path || f.path.test(url.pathname));
			if (queued >= 0) {
				const fault = this.failQueue.splice(queued, 1)[0];
				throw new HttpError(
					fault.status,
					String(fault.body?.errcode ?? 'M_UNKNOWN'),
					String(fault.body?.error ?? 'Internal server error'),
				);
			}
			if (this.faults.errorRate && affected && this.random() < this.faults.errorRate) {
				throw new HttpError(this.faults.errorStatus ?? 500, 'M_UNKNOWN', 'Internal server error');
			}
			payload = await this.route(req.method ?? 'GET', url, body, entry, req, res);
		} catch (caught) {
			let error = caught;
			if (error instanceof DelayedError) {
				await this.clock.sleep(error.delayMs);
				try {
					error.fail();
				} catch (failure) {
					error = failure;
				}
			}
			// synapse/http/server.py: a LimitExceededError with `pause` sleeps before it is answered.
			if (error instanceof HttpError && error.pauseMs > 0) await this.clock.sleep(error.pauseMs);
			if (error instanceof HttpError) {
				status = error.status;
				payload = (error as { replacesBody?: Json }).replacesBody ?? { errcode: error.errcode, error: error.message, ...error.extra };
				headers = error.headers;
				entry.errcode = error.errcode;
			} else {
				status = 500;
				payload = { errcode: 'M_UNKNOWN', error: 'Internal server error' };
				entry.errcode = 'M_UNKNOWN';
			}
		}
		entry.status = status;
		if (res.destroyed || this.down) {
			res.destroy();
			return;
		}
		const text = JSON.stringify(payload ?? {});
		res.writeHead(status, {
			'Content-Type': 'application/json',
			'Content-Length': Buffer.byteLength(text),
			...headers,
		});
		res.end(text);
	}

	private auth(req: IncomingMessage, url: URL): Session {
		const header = req.headers.authorization;
		let token: string | undefined;
		if (header?.startsWith('Bearer ')) token = header.slice(7).trim();
		else token = url.searchParams.get('access_token') ?? undefined;
		if (!token) throw new HttpError(401, 'M_MISSING_TOKEN', 'Missing access token');
		const session = this.sessions.get(token);
		if (!session)
			throw new HttpError(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', {
				soft_logout: false,
			});
		return session;
	}

	private async route(
		method: string,
		url: URL,
		rawBody: string,
		entry: RequestLogEntry,
		req: IncomingMessage,
		res: ServerResponse,
	): Promise<unknown> {
		const path = url.pathname;
		if (path === '/_matrix/client/versions') {
			if (method !== 'GET') throw unrecognized(405);
			return {
				versions: [
					'r0.0.1',
					'r0.1.0',
					'r0.2.0',
					'r0.3.0',
					'r0.4.0',
					'r0.5.0',
					'r0.6.0',
					'r0.6.1',
					'v1.1',
					'v1.2',
					'v1.3',
					'v1.4',
					'v1.5',
					'v1.6',
					'v1.7',
					'v1.8',
					'v1.9',
					'v1.10',
					'v1.11',
					'v1.12',
				],
				unstable_features: { 'org.matrix.msc3440.stable': true },
			};
		}
		const adminPath = /^\/_synapse\/admin\/v1\/users\/([^/]*)\/override_ratelimit$/.exec(path);
		if (adminPath) {
			const session = this.auth(req, url);
			entry.userId = session.userId;
			let target: string;
			try {
				target = decodeURIComponent(adminPath[1]);
			} catch {
				throw unrecognized();
			}
			return this.overrideRatelimit(method, session, target, rawBody);
		}
		const administered = this.admin.route(method, url, rawBody, req);
		if (administered !== undefined) return administered;
		const match = /^\/_matrix\/client\/(v3|r0|v1)\/(.*)$/.exec(path);
		if (!match) throw unrecognized();
		let segments: string[];
		try {
			segments = match[2].split('/').map((s) => decodeURIComponent(s));
		} catch {
			throw unrecognized();
		}
		const body = (): Json => parseJsonObject(rawBody);
		const [head, a, b, c, d] = segments;
		const n = segments.length;

		if (head === 'login' && n === 1) {
			if (method === 'GET')
				return { flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }] };
			if (method === 'POST') return this.login(body(), this.clientAddress(req));
			throw unrecognized(405);
		}
		const session = this.auth(req, url);
		entry.userId = session.userId;
		const me = session.userId;

		if (head === 'account' && a === 'whoami' && n === 2 && method === 'GET')
			return { user_id: me, is_guest: false, device_id: session.deviceId };
		if (head === 'logout' && method === 'POST') {
			for (const [token, s] of this.sessions)
				if (s.userId === me && (a === 'all' || s.deviceId === session.deviceId))
					this.sessions.delete(token);
			return {};
		}
		if (head === 'capabilities' && n === 1 && method === 'GET') {
			return {
				capabilities: {
					'm.change_password': { enabled: true },
					'm.room_versions': { default: '10', available: { '10': 'stable' } },
				},
			};
		}
		if (head === 'pushrules' && method === 'GET')
			return { global: { override: [], content: [], room: [], sender: [], underride: [] } };
		if (head === 'voip' && a === 'turnServer' && method === 'GET') return {};
		if (head === 'joined_rooms' && n === 1 && method === 'GET') {
			return {
				joined_rooms: [...this.rooms.values()]
					.filter((r) => this.membershipOf(r, me) === 'join')
					.map((r) => r.id),
			};
		}
		if (head === 'user' && b === 'filter') {
			if (a !== me) throw forbidden('Cannot create filters for other users');
			if (method === 'POST' && n === 3) {
				const filters = this.filters.get(me) ?? [];
				filters.push(body());
				this.filters.set(me, filters);
				return { filter_id: String(filters.length - 1) };
			}
			if (method === 'GET' && n === 4) {
				const filter = this.filters.get(me)?.[Number(c)];
				if (!/^\d+$/.test(c) || !filter) throw notFound('No such filter');
				return filter;
			}
			throw unrecognized(405);
		}
		if (head === 'sync' && n === 1 && method === 'GET') return this.sync(session, url, res);
		const e2ee = this.e2ee.route(method, segments, session, body, {
			answer: () => this.transactions.answer(url.pathname, session),
			remember: (answer) => this.transactions.rememberAnswer(url.pathname, session, answer),
		});
		if (e2ee !== undefined) return e2ee;
		if (head === 'profile' && a !== undefined && (n === 2 || n === 3) && method === 'GET')
			return this.profile(a, b);
		if (head === 'directory' && a === 'room' && n === 3) {
			if (method === 'GET') {
				const roomId = this.aliases.get(b);
				if (!roomId) throw notFound(`Room alias ${b} not found`);
				return { room_id: roomId, servers: [this.serverName] };
			}
			if (method === 'PUT') {
				const roomId = body().room_id;
				if (typeof roomId !== 'string' || !this.rooms.has(roomId)) throw notFound('Room not found');
				if (this.aliases.has(b))
					throw new HttpError(409, 'M_UNKNOWN', `Room alias ${b} already exists`);
				this.aliases.set(b, roomId);
				return {};
			}
			throw unrecognized(405);
		}
		if (head === 'join' && n === 2 && method === 'POST') {
			body();
			return this.join(
				me,
				a,
				url.searchParams.getAll('via').length > 0 || url.searchParams.has('server_name'),
			);
		}
		if (head === 'createRoom' && n === 1 && method === 'POST')
			return this.createRoomRequest(me, body());
		if (head === 'rooms' && n >= 3)
			return this.roomRoute(method, session, a, segments.slice(2), body, url);
		void d;
		throw unrecognized();
	}

	/** The client's IP (Synapse's `request.getClientAddress().host`, X-Forwarded-For if trusted). */
	private clientAddress(req: IncomingMessage): string {
		const forwarded = req.headers['x-forwarded-for'];
		if (this.trustForwardedFor && typeof forwarded === 'string' && forwarded.trim())
			return forwarded.split(',')[0].trim();
		return req.socket.remoteAddress ?? 'unknown';
	}

	/**
	 * synapse/rest/client/login.py + handlers/auth.py `validate_login`, in their order: the per-IP
	 * limiter (`rc_login.address`, every attempt), a look at the failed-attempts limiter without
	 * charging it, the password check (a failure charges `rc_login.failed_attempts`), then the
	 * per-account limiter (`rc_login.account`, successful logins, by lowercased user ID).
	 */
	private login(body: Json, address: string): Json {
		if (body.type !== 'm.login.password') {
			if (typeof body.type !== 'string')
				throw new HttpError(400, 'M_MISSING_PARAM', 'Missing JSON keys.');
			throw new HttpError(400, 'M_UNKNOWN', 'Unknown login type ' + body.type);
		}
		this.limits.ratelimit('loginAddress', address);
		const identifier = body.identifier as Json | undefined;
		let user: unknown = identifier?.type === 'm.id.user' ? identifier.user : body.user;
		if (identifier && identifier.type !== 'm.id.user')
			throw new HttpError(400, 'M_UNKNOWN', 'Unknown login identifier type');
		if (typeof user !== 'string' || typeof body.password !== 'string')
			throw new HttpError(400, 'M_MISSING_PARAM', 'Missing JSON keys.');
		// Login is case-insensitive on the localpart (Observed).
		user = user.startsWith('@')
			? `@${user.slice(1, user.indexOf(':')).toLowerCase()}${user.slice(user.indexOf(':'))}`
			: `@${user.toLowerCase()}:${this.serverName}`;
		const userId = user as string;
		this.limits.ratelimit('loginFailed', userId.toLowerCase(), undefined, false);
		const account = this.users.get(userId);
		if (
			!account ||
			account.remote ||
			account.password === undefined ||
			account.password !== body.password
		) {
			// `can_do_action`, not `ratelimit`: the 403 is answered, the failure only counted.
			this.limits.canDo('loginFailed', userId.toLowerCase());
			throw forbidden('Invalid username or password');
		}
		this.limits.ratelimit('loginAccount', userId.toLowerCase());
		const deviceId =
			typeof body.device_id === 'string' && body.device_id ? body.device_id : this.newDeviceId();
		// handlers/device.py `check_device_registered`: a known device is reused as it is, and its
		// earlier access tokens stay valid (register.py mints one more; nothing is revoked).
		account.devices.add(deviceId);
		return {
			user_id: userId,
			access_token: this.newSession(userId, deviceId),
			home_server: this.serverName,
			device_id: deviceId,
		};
	}

	/**
	 * synapse/rest/admin/users.py `RateLimitRestServlet`: GET/POST/DELETE
	 * `/_synapse/admin/v1/users/<user>/override_ratelimit`, server admins only.
	 */
	private overrideRatelimit(method: string, session: Session, target: string, raw: string): Json {
		if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') throw unrecognized(405);
		if (!this.users.get(session.userId)?.admin) throw forbidden('You are not a server admin');
		const local = target.startsWith('@') && target.endsWith(`:${this.serverName}`);
		if (!local)
			throw new HttpError(
				400,
				'M_UNKNOWN',
				method === 'GET' ? 'Can only look up local users' : 'Only local users can be ratelimited',
			);
		if (!this.users.has(target)) throw notFound('User not found');
		if (method === 'GET') {
			const current = this.limits.override(target);
			return current
				? { messages_per_second: current.messagesPerSecond, burst_count: current.burstCount }
				: {};
		}
		if (method === 'DELETE') {
			this.limits.setOverride(target, undefined);
			return {};
		}
		const body = raw.trim() ? parseJsonObject(raw) : {};
		const rate = body.messages_per_second ?? 0;
		const burst = body.burst_count ?? 0;
		for (const value of [rate, burst])
			if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
				throw new HttpError(
					400,
					'M_INVALID_PARAM',
					`${JSON.stringify(value)} parameter must be a positive int`,
				);
		this.limits.setOverride(target, {
			messagesPerSecond: rate as number,
			burstCount: burst as number,
		});
		return { messages_per_second: rate, burst_count: burst };
	}

	private profile(userId: string, field?: string): Json {
		if (!userId.startsWith('@') || !userId.includes(':'))
			throw new HttpError(400, 'M_INVALID_PARAM', 'Invalid user id');
		const server = userId.slice(userId.indexOf(':') + 1);
		if (server !== this.serverName && this.remoteServers.get(server) !== 'reachable') {
			throw new HttpError(502, 'M_UNKNOWN', 'Failed to fetch profile');
		}
		const user = this.users.get(userId);
		if (!user) throw notFound('Profile was not found');
		const profile: Json = { displayname: user.displayname };
		if (field === undefined) return profile;
		if (field !== 'displayname') throw unrecognized();
		return profile;
	}

	private join(me: string, target: string, hasVia: boolean): Json {
		let roomId = target;
		if (target.startsWith('#')) {
			const resolved = this.aliases.get(target);
			if (!resolved) throw notFound(`Room alias ${target} not found`);
			roomId = resolved;
		} else if (!target.startsWith('!')) {
			throw new HttpError(400, 'M_UNKNOWN', `${target} was not legal room ID or room alias`);
		}
		const room = this.rooms.get(roomId);
		if (!room) {
			if (hasVia) throw new HttpError(404, 'M_UNKNOWN', 'No known servers');
			throw new HttpError(
				404,
				'M_UNKNOWN',
				"Can't join remote room because no servers that are in the room have been provided.",
			);
		}
		const membership = this.membershipOf(room, me);
		if (membership === 'join') return { room_id: roomId };
		// room_member.py `update_membership`: a join by someone not yet joined meets `rc_joins.local`
		// and a look at the room's join limiter (not charged here; every join in the room is recorded).
		this.limits.ratelimit('joins', me, me);
		this.limits.ratelimit('joinsPerRoom', roomId, me, false);
		if (membership === 'ban') throw forbidden('You are banned from this room');
		const rules = room.state.get(stateKey('m.room.join_rules', ''))?.event.content;
		const rule = rules?.join_rule;
		let authorisedVia: string | undefined;
		if (rule !== 'public' && membership !== 'invite') {
			// event_auth.py `_is_membership_change_allowed`: `restricted` (and `knock_restricted`)
			// count only in room versions with `restricted_join_rule` (8+; knock_restricted 10+,
			// room_versions.py); in older versions the rule is unknown and the room acts invite-only.
			const version = String(this.createEvent(room).content.room_version ?? '1');
			const honoured =
				(rule === 'restricted' && supportsRestricted(version)) ||
				(rule === 'knock_restricted' && supportsKnockRestricted(version));
			if (!honoured) throw forbidden('You are not invited to this room.');
			// handlers/event_auth.py `check_restricted_join_rules`: the joiner must be joined to one
			// of the `allow` rooms (`m.room_membership` entries; other types are ignored).
			const allowed = (Array.isArray(rules?.allow) ? (rules.allow as Json[]) : []).some(
				(entry) =>
					entry?.type === 'm.room_membership' &&
					typeof entry.room_id === 'string' &&
					this.rooms.has(entry.room_id) &&
					this.membershipOf(this.rooms.get(entry.room_id)!, me) === 'join',
			);
			if (!allowed)
				throw forbidden('You do not belong to any of the required rooms/spaces to join this room.');
			// `get_user_which_could_invite`: a local joined user with invite power signs the join
			// (`join_authorised_via_users_server`). Simplified: the first such member in state order,
			// where Synapse prefers the creator, then admins (no signatures in the fake).
			authorisedVia = [...room.state.values()]
				.filter(
					(s) =>
						s.event.type === 'm.room.member' &&
						s.event.content.membership === 'join' &&
						s.event.state_key!.endsWith(`:${this.serverName}`),
				)
				.map((s) => s.event.state_key!)
				.find((user) => this.levelOf(room, user) >= this.required(room, 'invite'));
			if (!authorisedVia)
				throw new HttpError(
					400,
					'M_UNABLE_TO_GRANT_JOIN',
					'Unable to find a user which could issue an invite',
				);
		}
		// The join event itself, like every event, is charged to rc_message after event auth.
		this.limits.chargeEvent(me);
		const joinEvent = this.memberEvent(me, me, 'join');
		if (authorisedVia) joinEvent.content.join_authorised_via_users_server = authorisedVia;
		this.append(room, joinEvent);
		this.limits.record('joinsPerRoom', roomId);
		this.wake();
		return { room_id: roomId };
	}

	private createRoomRequest(me: string, body: Json): Json {
		// Synapse 1.67 `RoomCreationHandler.create_room` charges rc_message (HEAD: rc_room_creation).
		this.limits.chargeEvent(me);
		const alias =
			typeof body.room_alias_name === 'string'
				? `#${body.room_alias_name}:${this.serverName}`
				: undefined;
		if (alias && this.aliases.has(alias))
			throw new HttpError(400, 'M_ROOM_IN_USE', 'Room alias already taken');
		const roomId = this.createRoom({
			creator: me,
			name: typeof body.name === 'string' ? body.name : undefined,
			alias,
			preset: body.preset === 'public_chat' ? 'public_chat' : 'private_chat',
			powerLevels: (body.power_level_content_override as Json | undefined) ?? undefined,
		});
		for (const invitee of Array.isArray(body.invite) ? body.invite : []) {
			if (typeof invitee === 'string')
				this.setMembership(roomId, invitee, 'invite', { sender: me, isDirect: body.is_direct === true });
		}
		return { room_id: roomId };
	}

	private roomRoute(
		method: string,
		session: Session,
		roomId: string,
		rest: string[],
		body: () => Json,
		url: URL,
	): Json | MatrixEvent[] {
		const me = session.userId;
		const [action, x, y] = rest;
		const room = this.rooms.get(roomId);
		const memberActions = ['invite', 'kick', 'ban', 'unban'];
		if (memberActions.includes(action) && rest.length === 1) {
			if (method !== 'POST') throw unrecognized(405);
			return this.membershipAction(
				action as 'invite' | 'kick' | 'ban' | 'unban',
				me,
				roomId,
				room,
				body(),
			);
		}
		if (
			(action === 'join' || action === 'leave' || action === 'forget') &&
			rest.length === 1 &&
			method === 'POST'
		) {
			body();
			if (action === 'join') {
				if (!roomId.startsWith('!'))
					throw new HttpError(400, 'M_UNKNOWN', `${roomId} was not legal room ID`);
				return this.join(me, roomId, false);
			}
			if (!room) throw notFound('Unknown room');
			if (action === 'leave') {
				const membership = this.membershipOf(room, me);
				if (membership === 'join' || membership === 'invite') {
					// A leave is a membership event like any other: rc_message.
					this.limits.chargeEvent(me);
					this.append(room, this.memberEvent(me, me, 'leave'));
					this.wake();
				} else if (membership !== 'leave') throw forbidden(`User ${me} is not in room ${roomId}`);
			}
			return {};
		}
		// Everything below reads room content: only members may do so (room previews disabled).
		const requireJoined = () => {
			if (!room || this.membershipOf(room, me) !== 'join') {
				throw forbidden(`User ${me} not in room ${roomId}, and room previews are disabled`);
			}
			return room;
		};
		if (method === 'GET' && action === 'joined_members' && rest.length === 1) {
			const r = requireJoined();
			const joined: Json = {};
			for (const s of r.state.values()) {
				if (s.event.type === 'm.room.member' && s.event.content.membership === 'join') {
					joined[s.event.state_key!] = {
						avatar_url: null,
						display_name: s.event.content.displayname ?? null,
					};
				}
			}
			return { joined };
		}
		if (method === 'GET' && action === 'members' && rest.length === 1) {
			const r = requireJoined();
			const only = url.searchParams.get('membership');
			const not = url.searchParams.get('not_membership');
			const chunk = [...r.state.values()]
				.filter((s) => s.event.type === 'm.room.member')
				.filter(
					(s) =>
						(!only || s.event.content.membership === only) &&
						(!not || s.event.content.membership !== not),
				)
				.map((s) => this.render(s));
			return { chunk };
		}
		if (method === 'GET' && action === 'state') {
			const r = requireJoined();
			if (rest.length === 1) return [...r.state.values()].map((s) => this.render(s));
			if (rest.length === 2 || rest.length === 3) {
				const found = r.state.get(stateKey(x, y ?? ''));
				if (!found) throw notFound('Event not found.');
				// Synapse RoomStateEventRestServlet: ?format=event answers the whole event.
				return url.searchParams.get('format') === 'event' ? (this.render(found) as unknown as Json) : found.event.content;
			}
		}
		if (method === 'PUT' && action === 'state' && (rest.length === 2 || rest.length === 3)) {
			const r = requireJoined();
			const content = body();
			this.limits.chargeEvent(me, false);
			const needed =
				(this.powerLevels(r).events as Json | undefined)?.[x] ??
				this.powerLevels(r).state_default ??
				50;
			if (this.levelOf(r, me) < Number(needed))
				throw forbidden(
					`You don't have permission to post that to the room. user_level (${this.levelOf(r, me)}) < send_level (${needed})`,
				);
			// handle_new_client_event: an identical state event is not persisted again (no charge).
			const previous = r.state.get(stateKey(x, y ?? ''));
			if (
				previous &&
				previous.event.sender === me &&
				JSON.stringify(previous.event.content) === JSON.stringify(content)
			)
				return { event_id: previous.event.event_id };
			this.limits.chargeEvent(me);
			const stored = this.append(r, { type: x, sender: me, state_key: y ?? '', content });
			this.wake();
			return { event_id: stored.event.event_id };
		}
		if (method === 'PUT' && action === 'send' && rest.length === 3) {
			// The HTTP transaction cache answers first (transactions.py), before any other check.
			const cached = this.transactions.answer(url.pathname, session);
			if (cached) return cached;
			const content = body();
			// message.py `create_and_send_nonmember_event`: rc_message is looked at (not charged), then
			// the room's event_txn_id table may answer with the event this transaction already made.
			this.limits.chargeEvent(me, false);
			const existing = this.transactions.eventFor(roomId, session, y);
			if (existing) {
				const answer = { event_id: existing };
				this.transactions.rememberAnswer(url.pathname, session, answer);
				return answer;
			}
			const r = requireJoinedForSend(room, me, roomId, this);
			const needed =
				(this.powerLevels(r).events as Json | undefined)?.[x] ??
				this.powerLevels(r).events_default ??
				0;
			if (this.levelOf(r, me) < Number(needed))
				throw forbidden(
					`You don't have permission to post that to the room. user_level (${this.levelOf(r, me)}) < send_level (${needed})`,
				);
			// After event auth, `persist_and_notify_client_event` charges rc_message.
			this.limits.chargeEvent(me);
			const stored = this.append(r, { type: x, sender: me, content }, undefined, {
				session,
				txnId: y,
			});
			this.transactions.rememberEvent(roomId, session, y, stored.event.event_id);
			const answer = { event_id: stored.event.event_id };
			this.transactions.rememberAnswer(url.pathname, session, answer);
			this.wake();
			return answer;
		}
		if (method === 'GET' && action === 'event' && rest.length === 2) {
			// synapse/rest/client/room.py RoomEventServlet: an event the requester may not see is a
			// 404 M_NOT_FOUND like a missing one (its AuthError is turned into the 404 on purpose).
			// Here: current members see the whole timeline (history_visibility "shared").
			const found =
				room && this.membershipOf(room, me) === 'join'
					? room.events.find((s) => s.event.event_id === x)
					: undefined;
			if (!found) throw notFound('Event not found.');
			return this.render(found, session) as unknown as Json;
		}
		if (!['joined_members', 'members', 'state', 'send', 'event'].includes(action)) throw unrecognized();
		throw unrecognized(405);
	}

	private membershipAction(
		action: 'invite' | 'kick' | 'ban' | 'unban',
		me: string,
		roomId: string,
		room: Room | undefined,
		body: Json,
	): Json {
		if (!('user_id' in body))
			throw new HttpError(400, 'M_MISSING_PARAM', "Missing params: ['user_id']");
		const target = body.user_id;
		// Synapse bug (Observed): a non-string user_id ends in a 500.
		if (typeof target !== 'string') throw new HttpError(500, 'M_UNKNOWN', 'Internal server error');
		if (!target.startsWith('@'))
			throw new HttpError(400, 'M_INVALID_PARAM', "Expected UserID string to start with '@'");
		if (!target.includes(':'))
			throw new HttpError(
				400,
				'M_INVALID_PARAM',
				"Expected UserID of the form '@localname:domain'",
			);
		const reason = typeof body.reason === 'string' ? body.reason : undefined;
		if (action === 'invite') {
			// room_member.py `update_membership` → `ratelimit_invite`, before any other check.
			this.limits.chargeInvite(me, roomId, target);
		}
		if (!room) throw forbidden('Unknown room');
		const current = this.membershipOf(room, target);
		const mine = this.membershipOf(room, me);
		if (action === 'invite') {
			// `update_membership_locked`, then event auth: all before rc_message, so these 403s cost
			// the invite limiters above but no rc_message token.
			if (current === 'ban')
				throw new HttpError(403, 'M_BAD_STATE', 'Cannot invite user who was banned');
			if (mine !== 'join') throw forbidden(`${me} not in room ${roomId}.`);
			if (current === 'join') throw forbidden(`${target} is already in the room.`);
			if (this.levelOf(room, me) < this.required(room, 'invite'))
				throw forbidden("You don't have permission to invite users");
			if (this.users.get(target)?.blocksInvites)
				throw new HttpError(403, 'M_INVITE_BLOCKED', 'Invites have been blocked by the recipient');
			// message.py `persist_and_notify_client_event`: rc_message is charged here, before the
			// invite goes over federation, so an unreachable server's 502 has cost a token too.
			this.limits.chargeEvent(me);
			const server = target.slice(target.indexOf(':') + 1);
			if (server !== this.serverName) {
				if (!isValidServerName(server)) throw forbidden(`Federation denied with ${server}.`);
				if (portOutOfRange(server) || this.remoteServers.get(server) !== 'reachable') {
					return this.delayed(() => {
						throw new HttpError(502, 'M_UNKNOWN', `Can't connect to server ${server}`);
					});
				}
			}
			// A repeated invite is a new event: the stored one carries the invitee's displayname, so
			// `update_membership_locked`'s duplicate check (same sender, membership and content) misses.
			this.append(room, this.memberEvent(me, target, 'invite', reason));
			const key = `${roomId}|${target}`;
			this.inviteCounts.set(key, (this.inviteCounts.get(key) ?? 0) + 1);
			this.wake();
			return {};
		}
		if (mine !== 'join') throw forbidden(`${me} not in room ${roomId}.`);
		const myLevel = this.levelOf(room, me);
		const theirLevel = this.levelOf(room, target);
		// Kick, ban and unban have no limiter of their own: after event auth their membership event
		// is charged to rc_message like any other event.
		if (action === 'kick') {
			if (current !== 'join' && current !== 'invite' && current !== 'knock')
				throw forbidden(`${target} is not in the room`);
			if (myLevel < this.required(room, 'kick') || (theirLevel >= myLevel && target !== me))
				throw forbidden(`You cannot kick user ${target}.`);
			this.limits.chargeEvent(me);
			this.append(room, this.memberEvent(me, target, 'leave', reason));
		} else if (action === 'ban') {
			if (myLevel < this.required(room, 'ban') || (theirLevel >= myLevel && target !== me))
				throw forbidden(`You cannot ban user ${target}.`);
			this.limits.chargeEvent(me);
			this.append(room, this.memberEvent(me, target, 'ban', reason));
		} else {
			if (current !== 'ban') throw forbidden(`${target} is not banned`);
			if (myLevel < this.required(room, 'ban')) throw forbidden(`You cannot unban user ${target}.`);
			this.limits.chargeEvent(me);
			this.append(room, this.memberEvent(me, target, 'leave', reason));
		}
		this.wake();
		return {};
	}

	/** Synapse needs a while before giving up on an unreachable server. */
	private delayed(fail: () => never): Json {
		if (!this.unreachableDelayMs) fail();
		throw new DelayedError(this.unreachableDelayMs, fail);
	}

	// ---------------------------------------------------------------- /sync

	private async sync(session: Session, url: URL, res: ServerResponse): Promise<Json> {
		const sinceRaw = url.searchParams.get('since');
		let since: number | undefined;
		if (sinceRaw !== null) {
			const m = /^s(\d+)$/.exec(sinceRaw);
			if (!m || Number(m[1]) > this.pos)
				throw new HttpError(400, 'M_INVALID_PARAM', 'Invalid stream token');
			since = Number(m[1]);
		}
		const filter = this.resolveFilter(session.userId, url.searchParams.get('filter'));
		const timeout = Math.max(
			0,
			Math.min(Number(url.searchParams.get('timeout') ?? 0) || 0, 60_000),
		);
		const deadline = Date.now() + timeout;
		for (;;) {
			// At most 100 to-device messages per sync (e2ee.ts): the token then stops after the 100th.
			const upTo = this.e2ee.lastDeliveredPos(session, this.pos);
			const rooms = this.syncRooms(session, since, upTo, filter);
			const e2ee = this.e2ee.syncSection(session, since, upTo);
			const empty =
				!e2ee.hasNews &&
				!Object.keys(rooms.join).length &&
				!Object.keys(rooms.invite).length &&
				!Object.keys(rooms.leave).length;
			const remaining = deadline - Date.now();
			if (
				since === undefined ||
				!empty ||
				remaining <= 0 ||
				this.stopped ||
				this.down ||
				res.destroyed ||
				res.socket?.destroyed
			) {
				return {
					next_batch: `s${upTo}`,
					rooms,
					presence: { events: [] },
					account_data: { events: [] },
					...e2ee.section,
				};
			}
			await new Promise<void>((resolve) => {
				const done = () => {
					clearTimeout(timer);
					this.waiters.delete(done);
					res.off('close', done);
					resolve();
				};
				const timer = setTimeout(done, remaining);
				this.waiters.add(done);
				res.once('close', done);
			});
		}
	}

	private resolveFilter(userId: string, raw: string | null): Json {
		if (!raw) return {};
		if (raw.trim().startsWith('{')) {
			try {
				return JSON.parse(raw) as Json;
			} catch {
				throw new HttpError(400, 'M_INVALID_PARAM', 'Invalid filter JSON');
			}
		}
		const filter = this.filters.get(userId)?.[Number(raw)];
		if (!/^\d+$/.test(raw) || !filter)
			throw new HttpError(400, 'M_INVALID_PARAM', 'Invalid filter ID');
		return filter;
	}

	private syncRooms(session: Session, since: number | undefined, upTo: number, filter: Json) {
		const me = session.userId;
		const roomFilter = (filter.room ?? {}) as Json;
		const timelineFilter = (roomFilter.timeline ?? {}) as Json;
		const limit =
			typeof timelineFilter.limit === 'number' && timelineFilter.limit >= 0
				? timelineFilter.limit
				: 10;
		const eventOk = (e: MatrixEvent, f: Json) =>
			matchesTypes(e.type, f.types, f.not_types) &&
			(!Array.isArray(f.senders) || f.senders.includes(e.sender)) &&
			!(Array.isArray(f.not_senders) && f.not_senders.includes(e.sender));
		const roomOk = (id: string) =>
			(!Array.isArray(roomFilter.rooms) || roomFilter.rooms.includes(id)) &&
			!(Array.isArray(roomFilter.not_rooms) && roomFilter.not_rooms.includes(id));
		const join: Json = {};
		const invite: Json = {};
		const leave: Json = {};
		for (const room of this.rooms.values()) {
			if (!roomOk(room.id)) continue;
			// Membership as of `upTo`, so a concurrent change is delivered by the next sync.
			const memberEvents = room.events.filter(
				(s) => s.pos <= upTo && s.event.type === 'm.room.member' && s.event.state_key === me,
			);
			const mine = memberEvents[memberEvents.length - 1];
			if (!mine) continue;
			const membership = mine.event.content.membership;
			const fresh = since === undefined || mine.pos > since;
			if (membership === 'join') {
				const full = fresh;
				const candidates = room.events.filter((s) => s.pos <= upTo && (full || s.pos > since!));
				if (!full && candidates.length === 0) continue;
				const visible = candidates.filter((s) => eventOk(s.event, timelineFilter));
				const timeline = visible.slice(Math.max(0, visible.length - limit));
				const limited = visible.length > timeline.length;
				const inTimeline = new Set(timeline);
				let state: StoredEvent[] = [];
				if (full) {
					state = [...room.state.values()].filter((s) => s.pos <= upTo && !inTimeline.has(s));
				} else if (limited) {
					state = candidates.filter((s) => s.event.state_key !== undefined && !inTimeline.has(s));
				}
				join[room.id] = {
					timeline: {
						events: timeline.map((s) => this.render(s, session, false)),
						limited,
						prev_batch: `s${timeline.length ? timeline[0].pos - 1 : upTo}`,
					},
					state: { events: state.map((s) => this.render(s, session, false)) },
					account_data: { events: [] },
					ephemeral: { events: [] },
					unread_notifications: { highlight_count: 0, notification_count: 0 },
					summary: {},
				};
			} else if (membership === 'invite' && fresh) {
				const stripped = [
					'm.room.topic',
					'm.room.name',
					'm.room.join_rules',
					'm.room.canonical_alias',
					'm.room.create',
				]
					.map((t) => room.state.get(stateKey(t, '')))
					.filter((s): s is StoredEvent => !!s)
					.map((s) => ({
						type: s.event.type,
						state_key: s.event.state_key,
						content: s.event.content,
						sender: s.event.sender,
					}));
				const inviter = room.state.get(stateKey('m.room.member', mine.event.sender));
				if (inviter)
					stripped.push({
						type: 'm.room.member',
						state_key: inviter.event.state_key,
						content: inviter.event.content,
						sender: inviter.event.sender,
					});
				invite[room.id] = {
					invite_state: { events: [...stripped, this.render(mine, undefined, false)] },
				};
			} else if ((membership === 'leave' || membership === 'ban') && since !== undefined && fresh) {
				leave[room.id] = {
					timeline: {
						events: [this.render(mine, undefined, false)],
						limited: false,
						prev_batch: `s${mine.pos - 1}`,
					},
					state: { events: [] },
					account_data: { events: [] },
				};
			}
		}
		return { join, invite, leave, knock: {} };
	}
}

function requireJoinedForSend(
	room: Room | undefined,
	me: string,
	roomId: string,
	hs: FakeHomeserver,
): Room {
	if (!room) throw forbidden('Unknown room');
	if (hs.membership(roomId, me) !== 'join') throw forbidden(`User ${me} not in room ${roomId}`);
	return room;
}

function parseJsonObject(raw: string): Json {
	if (!raw.trim()) throw new HttpError(400, 'M_NOT_JSON', 'Content not JSON.');
	let parsed: unknown;
	try {
		parsed = JSON.parse(raw);
	} catch {
		throw new HttpError(400, 'M_NOT_JSON', 'Content not JSON.');
	}
	if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
		throw new HttpError(400, 'M_BAD_JSON', 'Content must be a JSON object.');
	return parsed as Json;
}

function readBody(req: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > 1_000_000) {
				reject(new HttpError(413, 'M_TOO_LARGE', 'Request too large'));
				req.destroy();
				return;
			}
			chunks.push(chunk);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

export { DelayedError, HttpError };
