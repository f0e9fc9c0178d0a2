import { describeFailure, type MatrixClient, type MatrixOutcome, type PowerLevels } from './client';
import { isRoomId, parseRoomRef, roomRefMessage } from './ids';
import { inviteFloor, type LimiterName } from './pacer';
import { withRetries, type RetryOptions } from './retrying';
import {
	authError,
	effectivePowerLevels,
	failureIsAuth,
	levelOf,
	requiredLevel,
	resolveRoom,
	roomCreationOf,
	type RoomProblem,
} from './rooms';
import { spaceChildren } from './spaces';

/**
 * Preflight (issue 18): before a big batch, can the bot do its job in a room? It reads a handful of
 * state events — never the member list, never a write — and answers with a verdict an organizer can
 * read. Problems name no one but the bot (as "the bot"): they end up in chat.
 */
export interface PreflightFacts {
	roomId?: string;
	/** `m.room.canonical_alias`, to name the room readably. */
	alias?: string;
	/** The bot's membership (`join`, `invite`, `leave`, `ban`), or none when the room is not readable. */
	membership?: string;
	/** The bot's power level; null for a room version 12+ creator (unlimited, MSC4289). */
	powerLevel?: number | null;
	inviteLevel?: number;
	kickLevel?: number;
	banLevel?: number;
	usersDefault?: number;
	canInvite?: boolean;
	canKick?: boolean;
	/** `m.room.join_rules` `join_rule` (`invite` when the room has none, as Synapse's event auth assumes). */
	joinRule?: string;
	/** For `restricted` / `knock_restricted`: the rooms (spaces) whose members may join. */
	allowedRooms?: string[];
	encrypted?: boolean;
	/** `m.room.create` `room_version`; "1" when absent (spec: the default room version of old rooms). */
	roomVersion?: string;
	/** `m.room.tombstone` `replacement_room`: the room was upgraded and this one is dead. */
	replacementRoom?: string;
	/** The room is a space (`m.room.create` `type: 'm.space'`). */
	space?: boolean;
	/** A space's child rooms restricted to it: the invite to the space lets people in there too. */
	restrictedChildren?: string[];
	/** A space's other child rooms (another join rule, or unreadable): each needs its own invite. */
	otherChildren?: string[];
}

export interface PreflightVerdict {
	/** The reference as given. */
	room: string;
	ok: boolean;
	/** What stops the bot (invites or withdrawals fail). Empty when ok. */
	problems: string[];
	/** What works but is worth knowing (an encrypted room). */
	warnings: string[];
	facts: PreflightFacts;
}

const NOT_USABLE: Record<RoomProblem, string> = {
	invalidRoom: 'not a room ID, alias or room link',
	roomNotFound: 'no such room (the alias or room is unknown to the homeserver)',
	botNotInRoom: 'the bot is not in this room: invite the bot and let it join',
	insufficientPower: "the bot's power level is too low",
	homeserverUnreachable: 'no response from the homeserver: try again later',
	homeserverError: 'the homeserver failed to answer: try again later',
};

/** A room version 12+ creator's "unlimited" power, printable and JSON-safe. */
const levelText = (level: number) => (level === Infinity ? 'unlimited' : String(level));

/**
 * The verdict for one room. `botUserId` is the bot's own ID (whoami, once per run). Throws only for a
 * rejected access token (the whole run fails); every other failure becomes a problem.
 */
export async function preflightRoom(
	client: MatrixClient,
	ref: string,
	botUserId: string,
	retry: RetryOptions,
	cache?: Map<string, { roomId?: string; problem?: RoomProblem }>,
): Promise<PreflightVerdict> {
	const verdict: PreflightVerdict = { room: ref, ok: false, problems: [], warnings: [], facts: {} };
	const parsed = parseRoomRef(ref);
	if (!parsed.ok) {
		verdict.problems.push(roomRefMessage(parsed.problem));
		return verdict;
	}
	if (!isRoomId(parsed.room)) verdict.facts.alias = parsed.room;
	const resolved = await resolveRoom(client, ref, retry, cache);
	if (!resolved.roomId) {
		verdict.problems.push(NOT_USABLE[resolved.problem ?? 'homeserverError']);
		return verdict;
	}
	const roomId = resolved.roomId;
	verdict.facts.roomId = roomId;

	/** One state event: its content, null when the room has none (404), or a failure. */
	const read = async <T>(type: string, stateKey = '', format?: 'event') => {
		const outcome: MatrixOutcome<T> = await withRetries(
			() =>
				client.request<T>('GET', ['rooms', roomId, 'state', type, stateKey], {
					qs: format ? { format } : undefined,
				}),
			retry,
		);
		if (outcome.ok) return { ok: true as const, value: outcome.value };
		if (failureIsAuth(outcome)) throw authError(outcome);
		// Synapse: 404 M_NOT_FOUND for a state event the room lacks; M_UNRECOGNIZED is a missing endpoint.
		if (outcome.kind === 'http' && outcome.status === 404 && outcome.errcode !== 'M_UNRECOGNIZED')
			return { ok: true as const, value: null };
		return { ok: false as const, failure: outcome };
	};

	// The bot's own member event first: Synapse answers every state read of a room the bot has not
	// joined with 403 ("not in room, and room previews are disabled"), so this one read decides.
	const member = await read<{ membership?: unknown }>('m.room.member', botUserId);
	if (!member.ok) {
		const failure = member.failure;
		verdict.problems.push(
			failure.kind === 'http' && (failure.status === 403 || failure.status === 404)
				? NOT_USABLE.botNotInRoom
				: `could not read the room: ${describeFailure(failure)}`,
		);
		return verdict;
	}
	const membership =
		typeof member.value?.membership === 'string' ? member.value.membership : undefined;
	verdict.facts.membership = membership;
	if (membership !== 'join') {
		// A departed member may still read the state as of its departure (Synapse), which is stale.
		verdict.problems.push(
			membership === 'ban'
				? 'the bot is banned from this room'
				: membership === 'invite'
					? 'the bot is invited but has not joined: let it join'
					: NOT_USABLE.botNotInRoom,
		);
		return verdict;
	}

	const create = await read<unknown>('m.room.create', '', 'event');
	const levels = await read<PowerLevels>('m.room.power_levels');
	const joinRules = await read<{ join_rule?: unknown; allow?: unknown }>('m.room.join_rules');
	const encryption = await read<{ algorithm?: unknown }>('m.room.encryption');
	const tombstone = await read<{ replacement_room?: unknown }>('m.room.tombstone');
	const alias = await read<{ alias?: unknown }>('m.room.canonical_alias');
	for (const [what, outcome] of [
		['the room version', create],
		['the power levels', levels],
		['the join rule', joinRules],
		['the encryption setting', encryption],
		['the tombstone', tombstone],
	] as const) {
		if (!outcome.ok)
			verdict.problems.push(`could not read ${what}: ${describeFailure(outcome.failure)}`);
	}
	if (alias.ok && typeof alias.value?.alias === 'string') verdict.facts.alias = alias.value.alias;

	if (create.ok && create.value) {
		// roomCreationOf: `room_version` absent means "1" (spec, m.room.create).
		const creation = roomCreationOf(create.value);
		verdict.facts.roomVersion = creation.roomVersion;
		if (levels.ok) checkPower(verdict, effectivePowerLevels(levels.value ?? undefined, creation), botUserId);
	}

	if (create.ok && (create.value as { content?: { type?: unknown } } | null)?.content?.type === 'm.space') {
		// Spec "Spaces": one invite to the space covers only the children restricted to it; the rest
		// are rooms of their own, which a mapping to the space alone would never reach.
		const children = await spaceChildren(client, roomId, retry);
		verdict.facts.space = true;
		verdict.facts.restrictedChildren = children.filter((c) => c.restricted).map((c) => c.roomId);
		verdict.facts.otherChildren = children.filter((c) => !c.restricted).map((c) => c.roomId);
		const others = verdict.facts.otherChildren.length;
		if (others)
			verdict.warnings.push(
				`${others} child room${others === 1 ? ' is' : 's are'} not restricted to this space: attendees need separate invites there`,
			);
	}

	if (joinRules.ok) {
		// Synapse event_auth: a room without m.room.join_rules is treated as invite-only.
		const rule =
			typeof joinRules.value?.join_rule === 'string' ? joinRules.value.join_rule : 'invite';
		verdict.facts.joinRule = rule;
		if (rule === 'restricted' || rule === 'knock_restricted') {
			// Spec "Restricted rooms": allow conditions of type m.room_membership name the rooms (spaces).
			const allow = Array.isArray(joinRules.value?.allow) ? joinRules.value.allow : [];
			verdict.facts.allowedRooms = allow
				.filter(
					(a): a is { type: string; room_id: string } =>
						!!a && a.type === 'm.room_membership' && typeof a.room_id === 'string',
				)
				.map((a) => a.room_id);
		}
	}

	if (encryption.ok) {
		verdict.facts.encrypted = encryption.value !== null;
		// Invites and kicks are state, not messages: they work. Only reading commands does not.
		if (verdict.facts.encrypted)
			verdict.warnings.push(
				'encrypted: the bot cannot read commands typed here yet (this package does not decrypt)',
			);
	}

	if (tombstone.ok && tombstone.value) {
		const replacement =
			typeof tombstone.value.replacement_room === 'string'
				? tombstone.value.replacement_room
				: undefined;
		verdict.facts.replacementRoom = replacement;
		// Spec "Room Upgrades": a tombstoned room is dead; clients send people to the replacement.
		verdict.problems.push(
			replacement
				? `the room was upgraded and replaced by ${replacement}: map the new room instead`
				: 'the room was closed (tombstone): map its successor instead',
		);
	}

	verdict.ok = verdict.problems.length === 0;
	return verdict;
}

/**
 * Spec "m.room.power_levels" and the auth rules for m.room.member: inviting needs `invite` (default
 * 0); withdrawing an invite or removing someone is a kick and needs `kick` (default 50) *and* a level
 * above the target's (attendees have `users_default`, default 0). `ban` (default 50) is never needed.
 * levelOf/requiredLevel (rooms.ts) apply these defaults and room version 12's unlimited creators.
 */
function checkPower(
	verdict: PreflightVerdict,
	levels: ReturnType<typeof effectivePowerLevels>,
	botUserId: string,
): void {
	const own = levelOf(levels, botUserId);
	const invite = requiredLevel(levels, 'invite');
	const kick = requiredLevel(levels, 'kick');
	const usersDefault = typeof levels.users_default === 'number' ? levels.users_default : 0;
	Object.assign(verdict.facts, {
		powerLevel: own === Infinity ? null : own,
		inviteLevel: invite,
		kickLevel: kick,
		banLevel: requiredLevel(levels, 'ban'),
		usersDefault,
		canInvite: own >= invite,
		canKick: own >= kick && own > usersDefault,
	});
	if (own < invite)
		verdict.problems.push(
			`the bot's power level ${levelText(own)} is below invite (${invite}): it cannot invite attendees`,
		);
	if (own < kick)
		verdict.problems.push(
			`the bot's power level ${levelText(own)} is below kick (${kick}): it cannot withdraw canceled tickets`,
		);
	else if (own <= usersDefault)
		verdict.problems.push(
			`the bot's power level ${levelText(own)} is not above the default level (${usersDefault}) attendees get: it cannot withdraw canceled tickets`,
		);
}

/** How a room is named in chat: its alias when it has one. */
export function preflightRoomName(verdict: PreflightVerdict): string {
	return verdict.facts.alias ?? verdict.facts.roomId ?? verdict.room;
}

const JOIN_RULES: Record<string, string> = {
	invite: 'invite-only',
	public: 'public (anyone can join without a ticket)',
	knock: 'invite-only, people may knock',
	private: 'private',
};

/**
 * One readable line: "✅ #room:server — can invite and kick; invite-only; room version 10", or
 * "⚠️ #room:server — <problems>". Built from the verdict only, so it names nobody but the room.
 */
export function preflightLine(verdict: PreflightVerdict): string {
	const f = verdict.facts;
	const parts: string[] = [];
	if (verdict.ok) parts.push('can invite and kick');
	else parts.push(...verdict.problems);
	if (f.joinRule) {
		if (f.joinRule === 'restricted' || f.joinRule === 'knock_restricted') {
			const n = f.allowedRooms?.length ?? 0;
			parts.push(
				`members of ${n} space${n === 1 ? '' : 's'} may join${f.joinRule === 'knock_restricted' ? ' (others may knock)' : ''}`,
			);
		} else parts.push(JOIN_RULES[f.joinRule] ?? `join rule ${f.joinRule}`);
	}
	if (f.roomVersion) parts.push(`room version ${f.roomVersion}`);
	if (f.space) {
		const n = f.restrictedChildren?.length ?? 0;
		parts.push(`space: ${n} child room${n === 1 ? '' : 's'} restricted to it (the space's invite covers ${n === 1 ? 'it' : 'them'})`);
	}
	parts.push(...verdict.warnings);
	return `${verdict.ok ? '✅' : '⚠️'} ${preflightRoomName(verdict)} — ${parts.join('; ')}`;
}

const LIMITERS: Record<string, string> = {
	message: "the bot's message limit (rc_message, 0.2/s: every invite counts)",
	perIssuer: "the bot's invite limit (rc_invites per issuer, 0.3/s)",
	perRoom: 'the invite limit per room (rc_invites per room, 0.3/s)',
	perInvitee: 'the invite limit per attendee (rc_invites per user)',
};

export interface PreflightEta {
	attendees: number;
	/** The rooms invites can go into (the bot may invite there and the room was not replaced). */
	rooms: number;
	invites: number;
	seconds: number;
	limitedBy: LimiterName | 'none';
	text: string;
}

/**
 * How long inviting `attendees` people into each room the bot can invite into takes at Synapse's
 * default limits (pacer.ts SYNAPSE_DEFAULT_LIMITS, the same floor as the Estimate operation). A
 * floor, not a promise: latency and other traffic of the bot come on top.
 */
export function preflightEta(verdicts: PreflightVerdict[], attendees: number): PreflightEta {
	const people = Math.max(0, Math.floor(attendees));
	const rooms = verdicts.filter((v) => v.facts.canInvite && !v.facts.replacementRoom).length;
	const invites = people * rooms;
	const floor = inviteFloor({ invites, rooms: Array<number>(rooms).fill(people), perPerson: rooms });
	const seconds = Math.ceil(floor.seconds);
	const duration =
		seconds < 60
			? 'under a minute'
			: seconds < 5_400
				? `about ${Math.ceil(seconds / 60)} minutes`
				: `about ${(seconds / 3600).toFixed(1)} hours`;
	const text = !invites
		? `ETA: no invites to make (${people} attendee${people === 1 ? '' : 's'}, ${rooms} room${rooms === 1 ? '' : 's'} the bot can invite into)`
		: `ETA: ${invites} invite${invites === 1 ? '' : 's'} (${people} attendee${people === 1 ? '' : 's'} × ${rooms} room${rooms === 1 ? '' : 's'}) take ${duration} at Synapse's default limits${floor.limiter === 'none' ? '' : `, set by ${LIMITERS[floor.limiter]}`}`;
	return { attendees: people, rooms, invites, seconds, limitedBy: floor.limiter, text };
}
