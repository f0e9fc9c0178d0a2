import type { MatrixClient, MatrixOutcome } from './client';
import { isRoomId, serverNameOf } from './ids';
import { authError, failureIsAuth, levelOf, readRoomPowerLevels, resolveRoom, type RoomPowerLevels, type RoomProblem } from './rooms';
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

/**
 * Setting up a space (issue 18, `!setroom … --space`): the chosen rooms become children of the space
 * (`m.space.child` in the space, state key = the child's ID, `via` = servers to join through) and,
 * where the bot has the power, their join rule becomes `restricted` with an `allow` entry
 * `{type: 'm.room_membership', room_id: <space>}` — so whoever joined the space joins them without
 * another invite (spec "Restricted rooms"). A room where the bot (or the person asking) lacks the
 * power is never changed, only reported. Each room is handled on its own: one that fails does not
 * stop the others.
 */
export type SpaceLink = 'added' | 'already' | 'noPower' | 'notAllowed' | 'failed';
export type SpaceRestriction =
	| 'changed'
	| 'already'
	| 'noPower'
	| 'notAllowed'
	/** Room versions 1–7 know no `restricted` join rule (spec: room version 8 introduced it). */
	| 'roomVersionTooOld'
	| 'botNotInRoom'
	| 'failed'
	| 'skipped';

export interface SpaceChildSetup {
	/** The room as given (an alias or ID: no personal data). */
	room: string;
	roomId?: string;
	/** Why the room could not be used at all (not found, not a room). */
	problem?: RoomProblem | 'isTheSpace';
	link?: SpaceLink;
	restriction?: SpaceRestriction;
	/** The join rule before (when read). */
	joinRuleBefore?: string;
	/** The power level a change needed (noPower / notAllowed). */
	neededLevel?: number;
}

export interface SpaceSetup {
	space: string;
	/** The space itself is not usable (not a space, the bot not in it). */
	problem?: 'notASpace' | 'botNotInSpace' | 'homeserverError';
	children: SpaceChildSetup[];
	/** Rooms where something changed / nothing had to change / something could not be done. */
	changed: number;
	unchanged: number;
	failed: number;
}

export interface SpaceSetupOptions {
	/** The bot's own Matrix ID (whoami). */
	botUserId: string;
	/**
	 * Who asked (the command's sender): a change is made only where they could make it themselves
	 * (their power level in that room ≥ the event's level). Undefined: a bot admin, no such check.
	 */
	onBehalfOf?: string;
	/** Switch the children's join rule to restricted (default true). */
	restrict?: boolean;
	retry: RetryOptions;
}

/** Room versions with the `restricted` join rule (8 and later; unknown future versions too). */
export function supportsRestrictedJoins(roomVersion: string): boolean {
	return !/^[1-7]$/.test(roomVersion);
}

/**
 * The level a state event needs (spec "m.room.power_levels"): `events[type]`, else
 * `state_default`, which is 50 in a power-levels event without it and 0 in a room without the event.
 */
export function stateEventLevel(levels: RoomPowerLevels, type: string): number {
	const explicit = levels.events?.[type];
	if (typeof explicit === 'number') return explicit;
	if (typeof levels.state_default === 'number') return levels.state_default;
	return levels.withoutEvent ? 0 : 50;
}

function putState(client: MatrixClient, roomId: string, type: string, stateKey: string, content: Record<string, unknown>, retry: RetryOptions): Promise<MatrixOutcome<unknown>> {
	// PUT of a state event is idempotent: a retry after a lost answer sets the same state.
	return withRetries(() => client.request('PUT', ['rooms', roomId, 'state', type, stateKey], { body: content }), retry);
}

export async function setUpSpace(client: MatrixClient, spaceRef: string, rooms: string[], options: SpaceSetupOptions): Promise<SpaceSetup> {
	const { retry, botUserId, onBehalfOf } = options;
	const restrict = options.restrict !== false;
	const cache = new Map<string, { roomId?: string; problem?: RoomProblem }>();
	const setup: SpaceSetup = { space: spaceRef, children: [], changed: 0, unchanged: 0, failed: 0 };
	const resolvedSpace = await resolveRoom(client, spaceRef, retry, cache);
	if (!resolvedSpace.roomId) return { ...setup, problem: resolvedSpace.problem === 'botNotInRoom' ? 'botNotInSpace' : 'notASpace' };
	const spaceId = resolvedSpace.roomId;
	setup.space = spaceId;
	const spaceLevels = await readRoomPowerLevels(client, spaceId, retry);
	if (!spaceLevels.ok) {
		if (failureIsAuth(spaceLevels)) throw authError(spaceLevels);
		return { ...setup, problem: spaceLevels.kind === 'http' && spaceLevels.status === 403 ? 'botNotInSpace' : 'homeserverError' };
	}
	if (!(await isSpace(client, spaceId, retry))) return { ...setup, problem: 'notASpace' };
	const linkLevel = stateEventLevel(spaceLevels.value, 'm.space.child');
	const existing = new Set((await spaceChildren(client, spaceId, retry)).map((child) => child.roomId));
	const seen = new Set<string>();
	for (const room of rooms) {
		const child: SpaceChildSetup = { room };
		setup.children.push(child);
		const resolved = await resolveRoom(client, room, retry, cache);
		if (!resolved.roomId) {
			child.problem = resolved.problem;
			setup.failed++;
			continue;
		}
		child.roomId = resolved.roomId;
		if (resolved.roomId === spaceId) {
			child.problem = 'isTheSpace';
			setup.failed++;
			continue;
		}
		if (seen.has(resolved.roomId)) {
			setup.children.pop();
			continue;
		}
		seen.add(resolved.roomId);
		child.link = await linkChild(client, spaceId, resolved.roomId, { existing, spaceLevels: spaceLevels.value, linkLevel, botUserId, onBehalfOf, retry });
		if (child.link === 'noPower' || child.link === 'notAllowed') child.neededLevel = linkLevel;
		child.restriction = restrict ? await restrictChild(client, spaceId, resolved.roomId, child, { botUserId, onBehalfOf, retry }) : 'skipped';
		const changed = child.link === 'added' || child.restriction === 'changed';
		const incomplete = !['added', 'already'].includes(child.link) || !['changed', 'already', 'skipped'].includes(child.restriction);
		if (incomplete) setup.failed++;
		else if (changed) setup.changed++;
		else setup.unchanged++;
	}
	return setup;
}

async function linkChild(
	client: MatrixClient,
	spaceId: string,
	roomId: string,
	context: { existing: Set<string>; spaceLevels: RoomPowerLevels; linkLevel: number; botUserId: string; onBehalfOf?: string; retry: RetryOptions },
): Promise<SpaceLink> {
	if (context.existing.has(roomId)) return 'already';
	if (levelOf(context.spaceLevels, context.botUserId) < context.linkLevel) return 'noPower';
	if (context.onBehalfOf !== undefined && levelOf(context.spaceLevels, context.onBehalfOf) < context.linkLevel) return 'notAllowed';
	// The bot is in the child room (it is mapped there), so its own server can always be joined through.
	const put = await putState(client, spaceId, 'm.space.child', roomId, { via: [serverNameOf(context.botUserId)] }, context.retry);
	if (!put.ok && failureIsAuth(put)) throw authError(put);
	if (!put.ok) return put.kind === 'http' && put.status === 403 ? 'noPower' : 'failed';
	context.existing.add(roomId);
	return 'added';
}

async function restrictChild(
	client: MatrixClient,
	spaceId: string,
	roomId: string,
	child: SpaceChildSetup,
	context: { botUserId: string; onBehalfOf?: string; retry: RetryOptions },
): Promise<SpaceRestriction> {
	const levels = await readRoomPowerLevels(client, roomId, context.retry);
	if (!levels.ok) {
		if (failureIsAuth(levels)) throw authError(levels);
		return levels.kind === 'http' && levels.status === 403 ? 'botNotInRoom' : 'failed';
	}
	const create = await withRetries(() => client.stateEvent<{ room_version?: unknown }>(roomId, 'm.room.create'), context.retry);
	const rules = await withRetries(() => client.stateEvent<{ join_rule?: unknown; allow?: unknown }>(roomId, 'm.room.join_rules'), context.retry);
	if (!create.ok || (!rules.ok && !(rules.kind === 'http' && rules.status === 404))) return 'failed';
	const content = rules.ok && rules.value && typeof rules.value === 'object' ? rules.value : {};
	// No join-rules event: the spec's default, invite.
	child.joinRuleBefore = typeof content.join_rule === 'string' ? content.join_rule : 'invite';
	if (restrictedTo(content, spaceId)) return 'already';
	const version = typeof create.value?.room_version === 'string' ? create.value.room_version : '1';
	if (!supportsRestrictedJoins(version)) return 'roomVersionTooOld';
	const needed = stateEventLevel(levels.value, 'm.room.join_rules');
	child.neededLevel = needed;
	if (levelOf(levels.value, context.botUserId) < needed) return 'noPower';
	if (context.onBehalfOf !== undefined && levelOf(levels.value, context.onBehalfOf) < needed) return 'notAllowed';
	delete child.neededLevel;
	// Members of rooms the room already allowed keep their way in; the space joins them.
	const allow = content.join_rule === 'restricted' || content.join_rule === 'knock_restricted' ? (Array.isArray(content.allow) ? content.allow : []) : [];
	const rule = content.join_rule === 'knock_restricted' ? 'knock_restricted' : 'restricted';
	const put = await putState(client, roomId, 'm.room.join_rules', '', { join_rule: rule, allow: [...allow, { type: 'm.room_membership', room_id: spaceId }] }, context.retry);
	if (!put.ok && failureIsAuth(put)) throw authError(put);
	if (!put.ok) return put.kind === 'http' && put.status === 403 ? 'noPower' : 'failed';
	return 'changed';
}

const PROBLEM_TEXT: Record<NonNullable<SpaceChildSetup['problem']>, string> = {
	invalidRoom: 'not a room ID, alias or room link',
	roomNotFound: 'no such room',
	botNotInRoom: 'the bot is not in this room',
	insufficientPower: "the bot's power level is too low",
	homeserverUnreachable: 'no response from the homeserver: try again later',
	homeserverError: 'the homeserver failed to answer: try again later',
	isTheSpace: 'this is the space itself',
};

const SPACE_PROBLEM_TEXT: Record<NonNullable<SpaceSetup['problem']>, string> = {
	notASpace: 'This room is not a space: type the command in the space (a room created as a space).',
	botNotInSpace: 'The bot is not in this space: invite it and let it join.',
	homeserverError: 'The homeserver failed to answer: try again later.',
};

/** One readable line per room of a set-up: what changed and what could not be changed, and why. */
export function spaceSetupLines(setup: SpaceSetup): string[] {
	if (setup.problem) return [SPACE_PROBLEM_TEXT[setup.problem]];
	return setup.children.map((child) => {
		if (child.problem) return `⚠️ ${child.room}: unchanged, ${PROBLEM_TEXT[child.problem]}`;
		const done: string[] = [];
		const not: string[] = [];
		if (child.link === 'added') done.push('added to the space');
		else if (child.link === 'already') done.push('already in the space');
		else if (child.link === 'noPower') not.push(`not added to the space: the bot's power level in the space is too low (needs ${child.neededLevel})`);
		else if (child.link === 'notAllowed') not.push('not added to the space: you may not change the space');
		else not.push('not added to the space: the homeserver refused');
		const before = child.joinRuleBefore ? ` (was ${child.joinRuleBefore})` : '';
		switch (child.restriction) {
			case 'changed':
				done.push(`now restricted to the space${before}: members of the space join without an invite`);
				break;
			case 'already':
				done.push('already restricted to the space');
				break;
			case 'noPower':
				not.push(`join rule unchanged${before}: the bot's power level is too low (needs ${child.neededLevel})`);
				break;
			case 'notAllowed':
				not.push(`join rule unchanged${before}: you may not change this room's join rule`);
				break;
			case 'roomVersionTooOld':
				not.push(`join rule unchanged${before}: the room version is too old for restricted joins (8 or later), upgrade the room`);
				break;
			case 'botNotInRoom':
				not.push('join rule unchanged: the bot is not in this room');
				break;
			case 'failed':
				not.push('join rule unchanged: the homeserver failed to answer');
				break;
			default:
				break;
		}
		const mark = not.length ? '⚠️' : '✅';
		return `${mark} ${child.room}: ${[...done, ...not].join('; ')}`;
	});
}
