import {
	MatrixApiError,
	type MatrixClient,
	type MatrixFailure,
	type MatrixOutcome,
	type PowerLevels,
} from './client';
import { isRoomId, parseRoomRef } from './ids';
import type { BotFacts } from './bot-facts';
import { withRetries, type RetryOptions } from './retrying';

/** Why a whole room cannot be worked on. */
export type RoomProblem =
	| 'invalidRoom'
	| 'roomNotFound'
	| 'botNotInRoom'
	| 'insufficientPower'
	| 'homeserverUnreachable'
	| 'homeserverError';

export interface RoomInfo {
	ref: string;
	roomId?: string;
	problem?: RoomProblem;
	/** Current membership per user, from one /members read (or per-user reads, see checkedUsers). */
	members: Map<string, string>;
	/** Set when memberships were read per user: only these users' absence from `members` means "none". */
	checkedUsers?: Set<string>;
	powerLevels?: RoomPowerLevels;
	/**
	 * The bot's membership and power were not read in this run: it was joined with the power to
	 * invite a moment ago (BotFacts). The invite's own answer still tells if that changed.
	 */
	botMayInviteFromCache?: boolean;
}

export function failureIsAuth(failure: MatrixFailure): boolean {
	return failure.kind === 'http' && failure.status === 401;
}

export function authError(failure: MatrixFailure): MatrixApiError {
	const code = failure.kind === 'http' ? failure.errcode : 'M_UNKNOWN_TOKEN';
	return new MatrixApiError(
		`The homeserver rejected the bot's access token (401 ${code}); check the Matrix credential`,
		failure,
	);
}

function problemOf(failure: MatrixFailure): RoomProblem {
	if (failure.kind === 'network') return 'homeserverUnreachable';
	if (failure.status === 404) return 'roomNotFound';
	if (failure.status === 403) return 'botNotInRoom';
	return 'homeserverError';
}

export async function whoAmI(client: MatrixClient, retry: RetryOptions): Promise<string> {
	const me = await withRetries(() => client.whoami(), retry);
	if (me.ok && typeof me.value?.user_id === 'string') return me.value.user_id;
	if (!me.ok && failureIsAuth(me)) throw authError(me);
	throw new MatrixApiError(
		`Could not identify the bot account: ${me.ok ? 'unexpected answer' : describe(me)}`,
		me.ok ? undefined : me,
	);
}

function describe(failure: MatrixFailure): string {
	return failure.kind === 'network'
		? `no response from the homeserver (${failure.code})`
		: `homeserver answered ${failure.status} ${failure.errcode}`;
}

/**
 * Up to this many people per room, their membership is read one state event each (plus the bot's)
 * instead of the room's whole member list: a webhook inviting one attendee into a room of thousands
 * would otherwise download and parse every member on every delivery.
 */
export const PER_USER_MEMBERSHIP_LIMIT = 20;

export interface PrepareRoomsOptions {
	readPowerLevels?: boolean;
	/** The people each room reference is needed for; small sets are read per user. */
	usersByRef?: Map<string, Set<string>>;
	/** The bot's own ID: always among the per-user reads (its membership decides everything). */
	self?: string;
	/** Facts kept across runs: resolved aliases, and (with `trustBotMayInvite`) rooms the bot may invite into. */
	facts?: BotFacts;
	/** Skip the bot's membership and power-level reads in rooms `facts` says it may invite into. */
	trustBotMayInvite?: boolean;
}

/**
 * Resolves each distinct room reference once (aliases through the directory) and reads its
 * membership once: one /members call per room, or, for a handful of people, one member state
 * event per person — never both, never per item.
 */
export async function prepareRooms(
	client: MatrixClient,
	refs: Iterable<string>,
	retry: RetryOptions,
	options: PrepareRoomsOptions = {},
): Promise<Map<string, RoomInfo>> {
	const rooms = new Map<string, RoomInfo>();
	const byId = new Map<string, RoomInfo>();
	for (const rawRef of refs) {
		if (rooms.has(rawRef)) continue;
		// IDs, aliases and matrix.to / matrix: links to either (see parseRoomRef).
		const parsed = parseRoomRef(rawRef);
		const info: RoomInfo = { ref: rawRef, members: new Map() };
		rooms.set(rawRef, info);
		if (!parsed.ok) {
			info.problem = 'invalidRoom';
			continue;
		}
		const ref = parsed.room;
		const knownId = isRoomId(ref) ? ref : options.facts?.roomIdOf(ref);
		if (knownId !== undefined) {
			info.roomId = knownId;
		} else {
			const resolved = await withRetries(() => client.resolveAlias(ref), retry);
			if (!resolved.ok) {
				if (failureIsAuth(resolved)) throw authError(resolved);
				info.problem =
					resolved.kind === 'http' && resolved.status === 404
						? 'roomNotFound'
						: problemOf(resolved);
				continue;
			}
			info.roomId = resolved.value.room_id;
			if (typeof resolved.value.room_id === 'string')
				options.facts?.rememberAlias(ref, resolved.value.room_id);
		}
		const known = byId.get(info.roomId);
		if (known) {
			// The same room under another reference (alias and ID): read whoever this one adds.
			const extra = [...(options.usersByRef?.get(rawRef) ?? [])].filter(
				(u) => known.checkedUsers && !known.checkedUsers.has(u),
			);
			if (!known.problem && extra.length)
				known.problem = await readMembershipsOneByOne(client, known, new Set(extra), retry);
			info.problem = known.problem;
			info.members = known.members;
			info.checkedUsers = known.checkedUsers;
			info.powerLevels = known.powerLevels;
			info.botMayInviteFromCache = known.botMayInviteFromCache;
			continue;
		}
		byId.set(info.roomId, info);
		const botKnown = !!(options.trustBotMayInvite && options.facts?.botMayInvite(info.roomId));
		if (botKnown) info.botMayInviteFromCache = true;
		const wanted = new Set<string>();
		for (const [otherRef, users] of options.usersByRef ?? []) {
			if (otherRef === rawRef || rooms.get(otherRef)?.roomId === info.roomId)
				for (const user of users) wanted.add(user);
		}
		if (options.usersByRef && options.self && wanted.size <= PER_USER_MEMBERSHIP_LIMIT) {
			if (!botKnown) wanted.add(options.self);
			const problem = await readMembershipsOneByOne(client, info, wanted, retry);
			if (problem) {
				info.problem = problem;
				continue;
			}
		} else {
			const problem = await readAllMembers(client, info, retry);
			if (problem) {
				info.problem = problem;
				continue;
			}
		}
		if (options.readPowerLevels && !botKnown) {
			const levels = await readRoomPowerLevels(client, info.roomId, retry);
			if (levels.ok) info.powerLevels = levels.value;
			else if (failureIsAuth(levels)) throw authError(levels);
			// Any other failure: no pre-check, let the action itself tell.
		}
	}
	return rooms;
}

async function readAllMembers(
	client: MatrixClient,
	info: RoomInfo,
	retry: RetryOptions,
): Promise<RoomProblem | undefined> {
	const members = await withRetries(() => client.members(info.roomId!), retry);
	if (!members.ok) {
		if (failureIsAuth(members)) throw authError(members);
		return problemOf(members);
	}
	for (const event of Array.isArray(members.value?.chunk) ? members.value.chunk : []) {
		if (
			event &&
			typeof event.state_key === 'string' &&
			typeof event.content?.membership === 'string'
		) {
			info.members.set(event.state_key, event.content.membership);
		}
	}
	return undefined;
}

/** The m.room.member state event of each user: 404 means never a member; the bot's own read decides access. */
async function readMembershipsOneByOne(
	client: MatrixClient,
	info: RoomInfo,
	users: Set<string>,
	retry: RetryOptions,
): Promise<RoomProblem | undefined> {
	info.checkedUsers ??= new Set();
	for (const user of users) {
		info.checkedUsers.add(user);
		const state = await withRetries(
			() => client.stateEvent<{ membership?: unknown }>(info.roomId!, 'm.room.member', user),
			retry,
		);
		if (state.ok) {
			if (typeof state.value?.membership === 'string')
				info.members.set(user, state.value.membership);
			continue;
		}
		if (failureIsAuth(state)) throw authError(state);
		if (state.kind === 'http' && state.status === 404 && state.errcode !== 'M_UNRECOGNIZED')
			continue;
		return problemOf(state);
	}
	return undefined;
}

/**
 * A room's power levels as the server enforces them: the `m.room.power_levels` content (or the
 * spec's defaults when the room has none) plus, from room version 12 on (MSC4289), its creators —
 * the `m.room.create` sender and `additional_creators` — who have unlimited power and are never
 * listed in `users`.
 */
export interface RoomPowerLevels extends PowerLevels {
	/** Users with unlimited power (room version 12+ creators). */
	creators?: string[];
	/** The room has no `m.room.power_levels` event (spec defaults apply). */
	withoutEvent?: boolean;
}

export interface RoomCreation {
	roomVersion: string;
	/** Who created the room (unknown only if the server answered the create content without its sender in v11+). */
	creator?: string;
	additionalCreators: string[];
}

/** Room versions 1–11 predate MSC4289; 12 and later (and unknown future ones) privilege creators. */
export function creatorsHaveUnlimitedPower(roomVersion: string): boolean {
	return !/^([1-9]|1[01])$/.test(roomVersion);
}

/**
 * The create event, read with `?format=event` (Synapse RoomStateEventRestServlet) to learn its
 * sender; a server that ignores `format` answers the content only, where rooms up to v10 still
 * name the creator (`content.creator`, dropped in v11).
 */
export function roomCreationOf(answer: unknown): RoomCreation {
	const record = (answer && typeof answer === 'object' ? answer : {}) as Record<string, unknown>;
	const isEvent =
		record.type === 'm.room.create' &&
		typeof record.content === 'object' &&
		record.content !== null;
	const content = (isEvent ? record.content : record) as Record<string, unknown>;
	const sender = isEvent && typeof record.sender === 'string' ? record.sender : undefined;
	const roomVersion = typeof content.room_version === 'string' ? content.room_version : '1';
	const legacyCreator = typeof content.creator === 'string' ? content.creator : undefined;
	const modern = roomVersion === '11' || creatorsHaveUnlimitedPower(roomVersion);
	const additional = Array.isArray(content.additional_creators)
		? content.additional_creators.filter((id): id is string => typeof id === 'string')
		: [];
	return {
		roomVersion,
		creator: modern ? sender : (legacyCreator ?? sender),
		additionalCreators: creatorsHaveUnlimitedPower(roomVersion) ? additional : [],
	};
}

/**
 * Effective power levels (Synapse event_auth get_user_power_level): with an event, its content
 * (plus v12 creators); without one, the creator has 100 and everyone else 0 — in v12 the creators
 * are unlimited instead. Required levels of a room without the event are the spec defaults
 * (invite 0, kick/ban/redact 50), which `requiredLevel` gives for absent keys.
 */
export function effectivePowerLevels(
	content: PowerLevels | undefined,
	creation: RoomCreation,
): RoomPowerLevels {
	const unlimited = creatorsHaveUnlimitedPower(creation.roomVersion);
	const creators = unlimited
		? [
				...new Set(
					[creation.creator, ...creation.additionalCreators].filter((id): id is string => !!id),
				),
			]
		: undefined;
	if (content) return creators ? { ...content, creators } : { ...content };
	const users: Record<string, number> = {};
	if (!unlimited && creation.creator) users[creation.creator] = 100;
	return { users, users_default: 0, withoutEvent: true, ...(creators ? { creators } : {}) };
}

/** Reads a room's create and power-levels events (each through the retry budget) into effective levels. */
export async function readRoomPowerLevels(
	client: MatrixClient,
	roomId: string,
	retry: RetryOptions,
): Promise<MatrixOutcome<RoomPowerLevels>> {
	const create = await withRetries(
		() =>
			client.request<unknown>('GET', ['rooms', roomId, 'state', 'm.room.create', ''], {
				qs: { format: 'event' },
			}),
		retry,
	);
	if (!create.ok) return create;
	const levels = await withRetries(() => client.powerLevels(roomId), retry);
	const missing = !levels.ok && levels.kind === 'http' && levels.status === 404;
	if (!levels.ok && !missing) return levels;
	const content = levels.ok ? ((levels.value ?? {}) as PowerLevels) : undefined;
	return {
		ok: true,
		status: 200,
		value: effectivePowerLevels(content, roomCreationOf(create.value)),
	};
}

/** A user's power: unlimited for v12 creators, else `users[id]`, else `users_default`, else 0. */
export function levelOf(levels: RoomPowerLevels | undefined, userId: string): number {
	if (levels?.creators?.includes(userId)) return Infinity;
	const explicit = levels?.users?.[userId];
	if (typeof explicit === 'number') return explicit;
	return typeof levels?.users_default === 'number' ? levels.users_default : 0;
}

export function requiredLevel(
	levels: PowerLevels | undefined,
	action: 'invite' | 'kick' | 'ban',
): number {
	const value = levels?.[action];
	if (typeof value === 'number') return value;
	return action === 'invite' ? 0 : 50;
}

/**
 * Turns a room reference into a room ID, resolving aliases through the directory once per cache.
 * Returns a problem instead of throwing when the room cannot be used.
 */
export async function resolveRoom(
	client: MatrixClient,
	ref: string,
	retry: RetryOptions,
	cache: Map<string, { roomId?: string; problem?: RoomProblem }> = new Map(),
): Promise<{ roomId?: string; problem?: RoomProblem }> {
	const key = String(ref ?? '').trim();
	const cached = cache.get(key);
	if (cached) return cached;
	let result: { roomId?: string; problem?: RoomProblem };
	// IDs, aliases and matrix.to / matrix: links to either (see parseRoomRef).
	const parsed = parseRoomRef(key);
	if (!parsed.ok) result = { problem: 'invalidRoom' };
	else if (isRoomId(parsed.room)) result = { roomId: parsed.room };
	else {
		const alias = parsed.room;
		const resolved = await withRetries(() => client.resolveAlias(alias), retry);
		if (resolved.ok) result = { roomId: resolved.value.room_id };
		else if (failureIsAuth(resolved)) throw authError(resolved);
		else
			result = {
				problem:
					resolved.kind === 'http' && resolved.status === 404
						? 'roomNotFound'
						: problemOf(resolved),
			};
	}
	// Transient failures are not cached: the next item may succeed.
	if (result.roomId || result.problem === 'invalidRoom' || result.problem === 'roomNotFound')
		cache.set(key, result);
	return result;
}
