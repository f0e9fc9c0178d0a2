import type { MatrixClient } from './client';
import { isRoomId } from './ids';
import { authError, failureIsAuth } from './rooms';
import { withRetries, type RetryOptions } from './retrying';

/**
 * Spaces (spec "Spaces"): a room whose `m.room.create` has `type: 'm.space'`; its children are its
 * `m.space.child` state events, the state key naming the child room. A child whose join rule is
 * `restricted` (or `knock_restricted`) with the space in `allow` lets every joined member of the
 * space in without an invite — so one invite to the space reaches all such children, and a
 * revocation has to take the person out of them too.
 */
export interface SpaceChild {
	roomId: string;
	/** The child's `join_rule`; undefined when the bot could not read it (not in the room). */
	joinRule?: string;
	/** The child lets joined members of this space in without an invite. */
	restricted: boolean;
	/** Why the join rule is unknown: the bot may not read the child ('botNotInRoom', …). */
	problem?: 'botNotInRoom' | 'homeserverError';
}

/**
 * Whether an `m.room.join_rules` content lets joined members of `spaceId` in (spec "Restricted
 * rooms": `allow` entries of type `m.room_membership`; `knock_restricted` allows the same joins).
 */
export function restrictedTo(joinRules: unknown, spaceId: string): boolean {
	if (!joinRules || typeof joinRules !== 'object') return false;
	const { join_rule: rule, allow } = joinRules as { join_rule?: unknown; allow?: unknown };
	if (rule !== 'restricted' && rule !== 'knock_restricted') return false;
	return (
		Array.isArray(allow) &&
		allow.some(
			(entry) =>
				entry &&
				typeof entry === 'object' &&
				(entry as { type?: unknown }).type === 'm.room_membership' &&
				(entry as { room_id?: unknown }).room_id === spaceId,
		)
	);
}

/** Whether the room is a space: one small state read (the create event), not the room's whole state. */
export async function isSpace(
	client: MatrixClient,
	roomId: string,
	retry: RetryOptions,
): Promise<boolean> {
	const create = await withRetries(
		() => client.stateEvent<{ type?: unknown }>(roomId, 'm.room.create'),
		retry,
	);
	if (!create.ok && failureIsAuth(create)) throw authError(create);
	return create.ok && create.value?.type === 'm.space';
}

/**
 * The space's children and, for each, its join rule. Only `m.space.child` events with a non-empty
 * `via` count: the spec says an event without one (the way a child is removed) is to be ignored.
 */
export async function spaceChildren(
	client: MatrixClient,
	spaceId: string,
	retry: RetryOptions,
): Promise<SpaceChild[]> {
	const state = await withRetries(
		() =>
			client.request<Array<{ type?: unknown; state_key?: unknown; content?: { via?: unknown } }>>(
				'GET',
				['rooms', spaceId, 'state'],
			),
		retry,
	);
	if (!state.ok) {
		if (failureIsAuth(state)) throw authError(state);
		return [];
	}
	const ids = new Set<string>();
	for (const event of Array.isArray(state.value) ? state.value : []) {
		if (
			event?.type === 'm.space.child' &&
			typeof event.state_key === 'string' &&
			isRoomId(event.state_key) &&
			Array.isArray(event.content?.via) &&
			event.content.via.length > 0
		)
			ids.add(event.state_key);
	}
	const children: SpaceChild[] = [];
	for (const roomId of ids) {
		const rules = await withRetries(() => client.stateEvent(roomId, 'm.room.join_rules'), retry);
		if (rules.ok) {
			const joinRule = (rules.value as { join_rule?: unknown })?.join_rule;
			children.push({
				roomId,
				joinRule: typeof joinRule === 'string' ? joinRule : undefined,
				restricted: restrictedTo(rules.value, spaceId),
			});
			continue;
		}
		if (failureIsAuth(rules)) throw authError(rules);
		// A readable room without the event: the spec's default join rule, invite.
		if (rules.kind === 'http' && rules.status === 404 && rules.errcode === 'M_NOT_FOUND') {
			children.push({ roomId, joinRule: 'invite', restricted: false });
			continue;
		}
		children.push({
			roomId,
			restricted: false,
			problem: rules.kind === 'http' && rules.status === 403 ? 'botNotInRoom' : 'homeserverError',
		});
	}
	return children;
}
