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
	/** Current membership per user, from one /members read. */
	members: Map<string, string>;
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
 * Resolves each distinct room reference once (aliases through the directory) and reads its
 * membership once (one /members call per room, never one per user).
 */
export async function prepareRooms(
	client: MatrixClient,
	refs: Iterable<string>,
	retry: RetryOptions,
	options: { readPowerLevels?: boolean } = {},
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
			info.problem = known.problem;
			info.members = known.members;
			info.powerLevels = known.powerLevels;
			continue;
		}
		byId.set(info.roomId, info);
		const members = await withRetries(() => client.members(info.roomId!), retry);
		if (!members.ok) {
			if (failureIsAuth(members)) throw authError(members);
			info.problem = problemOf(members);
			continue;
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
