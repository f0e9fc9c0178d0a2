import { MatrixApiError, type MatrixClient, type MatrixFailure, type PowerLevels } from './client';
import { isRoomAlias, isRoomId } from './ids';
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
	powerLevels?: PowerLevels;
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
		const ref = rawRef.trim();
		const info: RoomInfo = { ref: rawRef, members: new Map() };
		rooms.set(rawRef, info);
		if (isRoomId(ref)) {
			info.roomId = ref;
		} else if (isRoomAlias(ref)) {
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
		} else {
			info.problem = 'invalidRoom';
			continue;
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
			continue;
		}
		byId.set(info.roomId, info);
		const wanted = new Set<string>();
		for (const [otherRef, users] of options.usersByRef ?? []) {
			if (otherRef === rawRef || rooms.get(otherRef)?.roomId === info.roomId)
				for (const user of users) wanted.add(user);
		}
		if (options.usersByRef && options.self && wanted.size <= PER_USER_MEMBERSHIP_LIMIT) {
			wanted.add(options.self);
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
		if (options.readPowerLevels) {
			const levels = await withRetries(() => client.powerLevels(info.roomId!), retry);
			if (levels.ok) info.powerLevels = levels.value ?? {};
			else if (failureIsAuth(levels)) throw authError(levels);
			// No power-levels event means the room has defaults; any other failure: let the action tell.
			else if (levels.kind === 'http' && levels.status === 404) info.powerLevels = {};
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

export function levelOf(levels: PowerLevels | undefined, userId: string): number {
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
	if (isRoomId(key)) result = { roomId: key };
	else if (!isRoomAlias(key)) result = { problem: 'invalidRoom' };
	else {
		const resolved = await withRetries(() => client.resolveAlias(key), retry);
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
