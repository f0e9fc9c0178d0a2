import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { itemCollection, itemParameter } from '../../../lib/item-expressions';
import type { MatrixClient } from '../../../lib/matrix/client';
import { levelOf } from '../../../lib/matrix/rooms';
import {
	inviteUsers,
	sharedScheduler,
	membershipReport,
	revokeUsers,
	type EngineOptions,
	type RoomUserTask,
} from '../../../lib/matrix/invite-engine';
import {
	botFactsFor,
	optionNumber,
	resultFieldOption,
	roomList,
	roomsProperty,
	runError,
	userIdOf,
	userIdProperty,
} from './common';

/**
 * Invite, Revoke and Membership: each item names one person and one or more rooms. All items are
 * handled in one run of the engine (membership read once per room, one pacer for the whole batch),
 * then every item gets its result back; nothing is dropped.
 */
const OPS = ['invite', 'revoke', 'membership'];

export const description: INodeProperties[] = [
	roomsProperty(
		['invite'],
		'Rooms to invite into: room IDs, aliases or matrix.to / matrix: room links, separated by commas (an expression may return an array). A space may be given: one invite to the space, and its child rooms with the join rule "restricted" to the space let the person in without another invite.',
	),
	roomsProperty(
		['revoke'],
		'Rooms to withdraw the invite from or remove the person from. For a space, the person also leaves its child rooms restricted to the space (see Revoke From Restricted Child Rooms).',
	),
	roomsProperty(['membership'], 'Rooms to report the membership for'),
	userIdProperty(OPS),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['invite', 'revoke'] } },
		options: [
			{
				displayName: 'Homeserver Limits',
				name: 'limits',
				type: 'options',
				options: [
					{
						name: 'Synapse Defaults',
						value: 'synapse',
						description:
							"Pace by Synapse's default limits (0.2 events/s shared with notices, 0.3 invites/s, 5 invites per person then one per ~5.5 min); switches to learning if the server allows more or less",
					},
					{
						name: 'Unknown: Learn From 429 Answers',
						value: 'learn',
						description:
							"Start at the initial pace and learn the server's limit from its 429 answers",
					},
				],
				default: 'synapse',
				description: 'What the node assumes about the homeserver when it plans its requests',
			},
			{
				displayName: 'Initial Pace (Per Second)',
				name: 'initialRate',
				type: 'number',
				typeOptions: { minValue: 0.01, maxValue: 100, numberPrecision: 2 },
				default: 10,
				displayOptions: { show: { limits: ['learn'] } },
				description:
					"Starting pace; the node learns the homeserver's real limit from its 429 answers",
			},
			{
				displayName: 'Keep Joined Members',
				name: 'keepMembers',
				type: 'boolean',
				default: false,
				displayOptions: { show: { '/operation': ['revoke'] } },
				description:
					'Whether to only withdraw pending invites and leave people who already joined in the room',
			},
			{
				displayName: 'Lift Bot Rate Limits (Synapse Admin)',
				name: 'liftRateLimits',
				type: 'boolean',
				default: false,
				description:
					"Whether to exempt the bot from the homeserver's rate limits first, with Synapse's admin API (override_ratelimit). Needs a bot that is a Synapse server admin; the exemption stays set. Without admin rights the node goes on at the normal limits.",
			},
			{
				displayName: 'Max Retries',
				name: 'maxRetries',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 10 },
				default: 4,
				description:
					'Retries per person after server errors or network failures (rate limits are waited out within the time budget)',
			},
			{
				displayName: 'Parallel Requests',
				name: 'concurrency',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 16 },
				default: 4,
				description: 'How many requests may be in flight at once',
			},
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: '',
				description: 'Text shown with the invite (or recorded with the removal)',
			},
			{
				displayName: 'Respect Per-Person Limit',
				name: 'respectInviteeLimit',
				type: 'boolean',
				default: true,
				displayOptions: { show: { '/operation': ['invite'] } },
				description:
					"Whether to honour Synapse's per-invitee limit (5 invites, then one per ~5.5 minutes) locally instead of spending requests that must fail",
			},
			resultFieldOption,
			{
				displayName: 'Revoke From Restricted Child Rooms',
				name: 'restrictedChildren',
				type: 'boolean',
				default: false,
				displayOptions: { show: { '/operation': ['revoke'] } },
				description:
					'Whether revoking from a space also removes the person from its child rooms whose join rule is restricted to the space (they could join those through the space alone). Child rooms the person joined by other means are not touched. Off by default: the ledger does not know those rooms, so a child room that another ticket of the same person grants directly would lose them too — turn it on where no child room is mapped to an event of its own.',
			},
			{
				displayName: 'Time Budget (Seconds)',
				name: 'budgetSeconds',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 86400 },
				default: 600,
				description:
					'Whatever is not done by then ends as "gaveUp" (retry it in a later run). 0: no limit — the node runs until every person has an outcome.',
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['membership'] } },
		options: [resultFieldOption],
	},
];

/** Most telling status first: an item with several rooms reports the first of these it has. */
const SEVERITY = [
	'invalidUserId',
	'notPermitted',
	'gaveUp',
	'serverUnreachable',
	'banned',
	'invited',
	'withdrawn',
	'removed',
	'alreadyInvited',
	'alreadyJoined',
	'notInRoom',
	'ok',
];

function overall(statuses: string[]): string {
	return [...statuses].sort((a, b) => SEVERITY.indexOf(a) - SEVERITY.indexOf(b))[0] ?? 'ok';
}

interface Planned {
	userId: string;
	rooms: string[];
	first: number;
	/** Revoke: leave the person in the room when they already joined (per item, e.g. a changed answer). */
	keepMember: boolean;
	/** Revoke from a space: also from its children restricted to it (per item). */
	restrictedChildren: boolean;
}

export async function execute(
	this: IExecuteFunctions,
	client: MatrixClient,
	operation: string,
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const options = itemCollection(this, 'options', 0);
	const resultField = String(options.resultField ?? '').trim() || 'matrix';
	// Validate every item before touching the homeserver: a bad item must not leave a half-done batch.
	const planned: Array<Planned | { error: Error }> = items.map((_item, i) => {
		try {
			const rooms = roomList(itemParameter(this, 'rooms', i, ''));
			if (!rooms.length)
				throw new NodeOperationError(this.getNode(), 'Name at least one room (room ID or alias)', {
					itemIndex: i,
				});
			const itemOptions = i === 0 ? options : itemCollection(this, 'options', i);
			return {
				userId: userIdOf(itemParameter(this, 'userId', i, '')),
				rooms,
				first: 0,
				keepMember: itemOptions.keepMembers === true,
				restrictedChildren: itemOptions.restrictedChildren === true,
			};
		} catch (error) {
			// n8n's own wrapping: a NodeOperationError passes through, anything else keeps its message.
			if (!this.continueOnFail())
				throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			return { error: error as Error };
		}
	});
	const tasks: RoomUserTask[] = [];
	const keep: boolean[] = [];
	const children: boolean[] = [];
	for (const plan of planned) {
		if ('error' in plan) continue;
		plan.first = tasks.length;
		for (const room of plan.rooms) {
			tasks.push({ room, userId: plan.userId });
			keep.push(plan.keepMember);
			children.push(plan.restrictedChildren);
		}
	}
	const learn = options.limits === 'learn';
	const engineOptions: EngineOptions = {
		reason: String(options.reason ?? '').trim() || undefined,
		concurrency: optionNumber(options, 'concurrency', 4, 1, 16),
		// 0 (or less): no budget at all.
		budgetMs: optionNumber(options, 'budgetSeconds', 600, 0, 86_400) * 1000 || undefined,
		maxRetries: optionNumber(options, 'maxRetries', 4, 0, 10),
		limits: learn ? 'learn' : undefined,
		pacer: learn ? { initialRate: optionNumber(options, 'initialRate', 10, 0.01, 100) } : undefined,
		perInvitee: options.respectInviteeLimit === false ? false : undefined,
		liftRateLimits: options.liftRateLimits === true,
	};
	// Concurrent runs (one per webhook) with the same bot pace together, as the homeserver counts them.
	engineOptions.scheduler = sharedScheduler(
		JSON.stringify([
			this.getNode().credentials?.matrixBotApi?.id ?? '',
			client.homeserverUrl,
			engineOptions.limits ?? 'synapse',
			engineOptions.pacer ?? null,
			engineOptions.perInvitee ?? true,
		]),
		engineOptions,
	);
	let results: Array<{
		room: string;
		roomId?: string;
		status: string;
		reason: string;
		attempts?: number;
		retryAfterMs?: number;
		membership?: string;
		childRooms?: Array<{ roomId: string; status: string; reason: string; attempts: number }>;
	}>;
	try {
		if (!tasks.length) results = [];
		else if (operation === 'invite')
			results = (await inviteUsers(client, tasks, { ...engineOptions, botFacts: botFactsFor(client) }))
				.results;
		else if (operation === 'revoke') {
			// "Keep Joined Members" and "Revoke From Restricted Child Rooms" may differ per item: one
			// engine run per combination, results back in order.
			results = new Array(tasks.length);
			for (const keepMember of [false, true])
				for (const restrictedChildren of [true, false]) {
					const indexes = tasks.flatMap((_t, n) =>
						keep[n] === keepMember && children[n] === restrictedChildren ? [n] : [],
					);
					if (!indexes.length) continue;
					const run = await revokeUsers(
						client,
						indexes.map((n) => tasks[n]),
						{ ...engineOptions, removeMembers: !keepMember, restrictedChildren },
					);
					run.results.forEach((result, k) => (results[indexes[k]] = result));
				}
		}
		else results = await membershipReport(client, tasks, engineOptions);
	} catch (error) {
		const nodeError = runError(this, error);
		if (!this.continueOnFail()) throw nodeError;
		return items.map((item, i) => ({
			json: { ...item.json, error: nodeError.message },
			pairedItem: { item: i },
		}));
	}
	// Membership also tells each person's power level in each room (who may act for a room).
	const powerLevels = new Map<string, (userId: string) => number>();
	if (operation === 'membership') {
		for (const roomId of new Set(results.flatMap((r) => (r.roomId ? [r.roomId] : [])))) {
			const levels = await client.powerLevels(roomId);
			if (levels.ok) powerLevels.set(roomId, (userId) => levelOf(levels.value, userId));
		}
	}
	return items.map((item, i) => {
		const plan = planned[i];
		if ('error' in plan)
			return { json: { ...item.json, error: plan.error.message }, pairedItem: { item: i } };
		const mine = results.slice(plan.first, plan.first + plan.rooms.length).map((r) => {
			const entry: IDataObject = {
				room: r.room,
				roomId: r.roomId ?? null,
				status: r.status,
				reason: r.reason,
			};
			if (r.membership !== undefined) entry.membership = r.membership;
			if (r.attempts !== undefined) entry.attempts = r.attempts;
			// When another try makes sense (an unreachable server: an hour), for the ledger's back-off.
			if (r.retryAfterMs !== undefined) entry.retryAfterMs = r.retryAfterMs;
			// Revoke from a space: the restricted child rooms the person was taken out of (or not).
			if (r.childRooms) entry.childRooms = r.childRooms.map((c) => ({ ...c }));
			return entry;
		});
		if (operation === 'membership') {
			for (const entry of mine) entry.powerLevel = typeof entry.roomId === 'string' ? (powerLevels.get(entry.roomId)?.(plan.userId) ?? null) : null;
		}
		const result: IDataObject = {
			operation,
			userId: plan.userId,
			// A failure in a space's restricted child room is the item's failure too.
			status: overall(
				mine.flatMap((r) => [
					String(r.status),
					...((r.childRooms as IDataObject[] | undefined) ?? []).map((c) => String(c.status)),
				]),
			),
			rooms: mine,
		};
		if (operation === 'membership' && mine.length === 1)
			result.membership = mine[0].membership ?? null;
		return { json: { ...item.json, [resultField]: result }, pairedItem: { item: i } };
	});
}
