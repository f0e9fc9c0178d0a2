import { backoffMs, sleepMs } from '../http/retry';
import {
	MatrixApiError,
	type MatrixClient,
	type MatrixFailure,
	type MatrixOutcome,
} from './client';
import { isValidUserId, serverNameOf } from './ids';
import { AdaptivePacer, type PacerOptions } from './pacer';
import {
	authError,
	failureIsAuth,
	levelOf,
	prepareRooms,
	requiredLevel,
	whoAmI,
	type RoomInfo,
	type RoomProblem,
} from './rooms';

export type InviteStatus =
	| 'invited'
	| 'alreadyJoined'
	| 'alreadyInvited'
	| 'banned'
	| 'notPermitted'
	| 'serverUnreachable'
	| 'invalidUserId'
	| 'gaveUp';

export type RevokeStatus =
	'withdrawn' | 'removed' | 'notInRoom' | 'banned' | 'notPermitted' | 'invalidUserId' | 'gaveUp';

export interface RoomUserTask {
	/** Room ID (`!…`) or alias (`#…:server`). */
	room: string;
	userId: string;
}

export interface TaskResult<S extends string> extends RoomUserTask {
	roomId?: string;
	status: S;
	/** Machine-readable detail, e.g. `rateLimited`, `botNotInRoom`; never contains IDs. */
	reason: string;
	attempts: number;
}

export interface RunStats {
	durationMs: number;
	requests: number;
	rateLimited: number;
	/** The pace (actions/s) the engine had learned when it finished. */
	learnedRate: number;
}

export interface EngineOptions {
	/** Shown to the invitee / recorded in the membership event. */
	reason?: string;
	/** Parallel requests in flight (default 4). */
	concurrency?: number;
	/** Overall time budget for the run in ms (default 10 minutes). */
	budgetMs?: number;
	/** Retries per user for 5xx / network failures (default 4). */
	maxRetries?: number;
	/** A shared pacer (so several runs learn together) or options for a fresh one. */
	pacer?: AdaptivePacer | PacerOptions;
	/** The homeserver's per-invitee limit (Synapse: 0.003/s, burst 5); false to not track it. */
	perInvitee?: { perSecond: number; burst: number } | false;
	/** A 429 asking to wait longer than this is taken as a per-invitee limit, not a global one. */
	inviteeLimitThresholdMs?: number;
	/** Revoke: also remove users who already joined (default true); false withdraws invites only. */
	removeMembers?: boolean;
	signal?: AbortSignal;
	now?: () => number;
	sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

type Verdict<S extends string> =
	| { kind: 'done'; status: S; reason: string }
	| { kind: 'retry' }
	| { kind: 'rateLimited'; waitMs: number; precise: boolean }
	/** The bot may not act in this room at all: settle every remaining task of the room. */
	| { kind: 'roomBlocked'; reason: RoomProblem | 'unknownRoom' };

interface Job<S extends string> {
	key: string;
	task: RoomUserTask;
	room: RoomInfo;
	action: 'invite' | 'kick';
	notBefore: number;
	attempts: number;
	failures: number;
	result?: TaskResult<S>;
}

/** A local mirror of the server's per-invitee bucket, so we never spend a request that must fail. */
class InviteeBuckets {
	private readonly levels = new Map<string, { level: number; at: number }>();
	constructor(
		private readonly perSecond: number,
		private readonly burst: number,
	) {}
	waitMs(userId: string, now: number): number {
		if (!this.levels.has(userId)) return 0;
		const level = this.level(userId, now);
		return level + 1 > this.burst
			? Math.ceil(((level + 1 - this.burst) / this.perSecond) * 1000)
			: 0;
	}
	take(userId: string, now: number): void {
		this.levels.set(userId, { level: this.level(userId, now) + 1, at: now });
	}
	/**
	 * Gives a reserved token back: the attempt was turned away (429 from another limiter, 5xx, no
	 * answer). Counting those would make us wait 5.5 minutes for nothing after a few retries; if the
	 * server did charge one, its own long 429 tells us so.
	 */
	refund(userId: string, now: number): void {
		this.levels.set(userId, { level: Math.max(0, this.level(userId, now) - 1), at: now });
	}
	private level(userId: string, now: number): number {
		const b = this.levels.get(userId);
		return b ? Math.max(0, b.level - ((now - b.at) / 1000) * this.perSecond) : 0;
	}
}

function roomProblemStatus<S extends string>(
	problem: RoomProblem | 'unknownRoom',
	gaveUp: S,
	notPermitted: S,
): S {
	return problem === 'homeserverUnreachable' || problem === 'homeserverError'
		? gaveUp
		: notPermitted;
}

/** Reads an invite failure the way the reference's §3.2 table documents Synapse's answers. */
export function classifyInviteFailure(
	failure: MatrixFailure,
	userId: string,
	ownServer: string,
): Verdict<InviteStatus> {
	if (failure.kind === 'network') return { kind: 'retry' };
	const { status, errcode, serverError } = failure;
	if (status === 429)
		return {
			kind: 'rateLimited',
			waitMs: failure.retryAfterMs ?? -1,
			precise: failure.retryAfterPrecise ?? false,
		};
	if (status >= 500) {
		// Any 5xx on inviting a remote user means that user's server can't be reached (§3.2 notes).
		if (serverNameOf(userId) !== ownServer)
			return { kind: 'done', status: 'serverUnreachable', reason: 'remoteServerUnreachable' };
		return { kind: 'retry' };
	}
	if (status === 400)
		return {
			kind: 'done',
			status: 'invalidUserId',
			reason: errcode === 'M_INVALID_PARAM' ? 'rejectedByServer' : 'badRequest',
		};
	if (errcode === 'M_BAD_STATE' || /\bbanned\b/i.test(serverError))
		return { kind: 'done', status: 'banned', reason: 'banned' };
	if (errcode === 'M_INVITE_BLOCKED')
		return { kind: 'done', status: 'notPermitted', reason: 'inviteBlocked' };
	if (status === 403) {
		if (/is already in the room/i.test(serverError))
			return { kind: 'done', status: 'alreadyJoined', reason: 'alreadyJoined' };
		if (/^Federation denied/i.test(serverError))
			return { kind: 'done', status: 'invalidUserId', reason: 'serverNameRejected' };
		if (/^Unknown room/i.test(serverError)) return { kind: 'roomBlocked', reason: 'unknownRoom' };
		if (/not in room/i.test(serverError)) return { kind: 'roomBlocked', reason: 'botNotInRoom' };
		if (/permission/i.test(serverError))
			return { kind: 'roomBlocked', reason: 'insufficientPower' };
		return { kind: 'done', status: 'notPermitted', reason: 'forbidden' };
	}
	if (status === 404) return { kind: 'roomBlocked', reason: 'roomNotFound' };
	return { kind: 'done', status: 'gaveUp', reason: `http${status}` };
}

function classifyKickFailure(failure: MatrixFailure): Verdict<RevokeStatus> {
	if (failure.kind === 'network') return { kind: 'retry' };
	const { status, serverError } = failure;
	if (status === 429)
		return {
			kind: 'rateLimited',
			waitMs: failure.retryAfterMs ?? -1,
			precise: failure.retryAfterPrecise ?? false,
		};
	if (status >= 500) return { kind: 'retry' };
	if (status === 400) return { kind: 'done', status: 'invalidUserId', reason: 'rejectedByServer' };
	if (status === 403) {
		if (/is not in the room/i.test(serverError))
			return { kind: 'done', status: 'notInRoom', reason: 'notInRoom' };
		if (/not in room/i.test(serverError)) return { kind: 'roomBlocked', reason: 'botNotInRoom' };
		if (/^Unknown room/i.test(serverError)) return { kind: 'roomBlocked', reason: 'unknownRoom' };
		return { kind: 'done', status: 'notPermitted', reason: 'insufficientPower' };
	}
	if (status === 404) return { kind: 'roomBlocked', reason: 'roomNotFound' };
	return { kind: 'done', status: 'gaveUp', reason: `http${status}` };
}

interface RunContext {
	client: MatrixClient;
	options: EngineOptions;
	now: () => number;
	sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
	deadline: number;
	pacer: AdaptivePacer;
	stats: RunStats;
}

function makeContext(client: MatrixClient, options: EngineOptions): RunContext {
	const now = options.now ?? (() => performance.now());
	const sleep = options.sleep ?? sleepMs;
	const pacer =
		options.pacer instanceof AdaptivePacer
			? options.pacer
			: new AdaptivePacer({ now, sleep, ...(options.pacer ?? {}) });
	return {
		client,
		options,
		now,
		sleep,
		deadline: now() + (options.budgetMs ?? 600_000),
		pacer,
		stats: { durationMs: 0, requests: 0, rateLimited: 0, learnedRate: pacer.rate },
	};
}

function retryOptions(ctx: RunContext) {
	return {
		deadline: ctx.deadline,
		now: ctx.now,
		sleep: ctx.sleep,
		signal: ctx.options.signal,
		maxRetries: ctx.options.maxRetries ?? 4,
	};
}

/**
 * Runs the jobs with bounded concurrency under the pacer. Each job ends with a result; whatever is
 * still open when the budget runs out ends as `gaveUp`.
 */
async function runJobs<S extends string>(
	ctx: RunContext,
	jobs: Job<S>[],
	act: (job: Job<S>) => Promise<MatrixOutcome<unknown>>,
	onSuccess: (job: Job<S>) => { status: S; reason: string },
	classify: (job: Job<S>, failure: MatrixFailure) => Verdict<S>,
	statuses: { gaveUp: S; notPermitted: S },
	invitee?: InviteeBuckets,
	ownServer?: string,
): Promise<void> {
	const pending = [...jobs];
	const blockedRooms = new Map<string, RoomProblem | 'unknownRoom'>();
	const threshold = ctx.options.inviteeLimitThresholdMs ?? 60_000;
	let inFlight = 0;
	let fatal: Error | undefined;
	const settle = (job: Job<S>, status: S, reason: string) => {
		job.result = { ...job.task, roomId: job.room.roomId, status, reason, attempts: job.attempts };
	};
	const requeue = (job: Job<S>, notBefore: number) => {
		job.notBefore = notBefore;
		pending.push(job);
	};
	const next = (): Job<S> | undefined => {
		const now = ctx.now();
		const index = pending.findIndex((j) => j.notBefore <= now);
		return index >= 0 ? pending.splice(index, 1)[0] : undefined;
	};
	const worker = async () => {
		for (;;) {
			if (fatal || ctx.options.signal?.aborted) return;
			const job = next();
			if (!job) {
				if (!pending.length && inFlight === 0) return;
				if (!pending.length) {
					await ctx.sleep(20, ctx.options.signal);
					continue;
				}
				const soonest = Math.min(...pending.map((j) => j.notBefore));
				if (soonest > ctx.deadline) {
					for (const j of pending.splice(0))
						settle(j, statuses.gaveUp, j.attempts ? 'rateLimited' : 'budgetExhausted');
					continue;
				}
				await ctx.sleep(Math.max(1, Math.min(soonest - ctx.now(), 250)), ctx.options.signal);
				continue;
			}
			const blocked = blockedRooms.get(job.room.roomId ?? '');
			if (blocked) {
				settle(job, roomProblemStatus(blocked, statuses.gaveUp, statuses.notPermitted), blocked);
				continue;
			}
			if (invitee) {
				const wait = invitee.waitMs(job.task.userId, ctx.now());
				if (wait > 0) {
					if (ctx.now() + wait > ctx.deadline) settle(job, statuses.gaveUp, 'inviteeRateLimited');
					else requeue(job, ctx.now() + wait);
					continue;
				}
				// Reserve now: other workers check the same invitee while we wait for a slot.
				invitee.take(job.task.userId, ctx.now());
			}
			inFlight++;
			try {
				if (!(await ctx.pacer.acquire(ctx.deadline, ctx.options.signal))) {
					settle(job, statuses.gaveUp, job.attempts ? 'rateLimited' : 'budgetExhausted');
					continue;
				}
				job.attempts++;
				ctx.stats.requests++;
				const outcome = await act(job);
				if (outcome.ok) {
					ctx.pacer.onSuccess();
					const done = onSuccess(job);
					settle(job, done.status, done.reason);
					continue;
				}
				if (failureIsAuth(outcome)) {
					fatal = authError(outcome);
					return;
				}
				const verdict = classify(job, outcome);
				const turnedAway =
					verdict.kind === 'retry' || (verdict.kind === 'rateLimited' && verdict.waitMs <= threshold);
				if (invitee && turnedAway) invitee.refund(job.task.userId, ctx.now());
				if (verdict.kind === 'done') {
					settle(job, verdict.status, verdict.reason);
				} else if (verdict.kind === 'roomBlocked') {
					blockedRooms.set(job.room.roomId ?? '', verdict.reason);
					settle(
						job,
						roomProblemStatus(verdict.reason, statuses.gaveUp, statuses.notPermitted),
						verdict.reason,
					);
				} else if (verdict.kind === 'rateLimited') {
					ctx.stats.rateLimited++;
					const wait = verdict.waitMs >= 0 ? verdict.waitMs : backoffMs(job.failures, 1000);
					if (job.action === 'invite' && wait > threshold) {
						// The invitee's own bucket is empty (Synapse: ~5.5 min per token): wait for it, or give up.
						if (ctx.now() + wait > ctx.deadline) settle(job, statuses.gaveUp, 'inviteeRateLimited');
						else requeue(job, ctx.now() + wait);
					} else {
						ctx.pacer.onRateLimited(wait, verdict.precise, verdict.waitMs >= 0);
						pending.unshift(job);
					}
				} else {
					job.failures++;
					if (job.failures > (ctx.options.maxRetries ?? 4)) {
						const remote = ownServer !== undefined && serverNameOf(job.task.userId) !== ownServer;
						settle(
							job,
							remote && job.action === 'invite' ? ('serverUnreachable' as S) : statuses.gaveUp,
							outcome.kind === 'network' ? 'homeserverUnreachable' : 'homeserverError',
						);
					} else {
						const wait = backoffMs(job.failures - 1, 500);
						if (ctx.now() + wait > ctx.deadline)
							settle(
								job,
								statuses.gaveUp,
								outcome.kind === 'network' ? 'homeserverUnreachable' : 'homeserverError',
							);
						else requeue(job, ctx.now() + wait);
					}
				}
			} finally {
				inFlight--;
			}
		}
	};
	const concurrency = Math.max(1, Math.min(ctx.options.concurrency ?? 4, 32));
	await Promise.all(Array.from({ length: concurrency }, () => worker()));
	if (fatal) throw fatal;
	// Aborted: nothing may be lost, so whatever is open is reported as given up.
	for (const job of pending) if (!job.result) settle(job, statuses.gaveUp, 'aborted');
}

/**
 * The bot's own ID, or undefined when the homeserver cannot be asked right now (down, 5xx, rate
 * limited past the budget): the caller then reports every task as `gaveUp` instead of failing.
 */
async function identify(
	client: MatrixClient,
	ctx: RunContext,
): Promise<{ me?: string; reason?: string }> {
	try {
		return { me: await whoAmI(client, retryOptions(ctx)) };
	} catch (error) {
		const failure = error instanceof MatrixApiError ? error.failure : undefined;
		if (!failure || failureIsAuth(failure)) throw error;
		if (failure.kind === 'network') return { reason: 'homeserverUnreachable' };
		if (failure.status >= 500 || failure.status === 429) return { reason: 'homeserverError' };
		throw error;
	}
}

function allGaveUp<S extends string>(
	tasks: RoomUserTask[],
	status: S,
	reason: string,
	ctx: RunContext,
	started: number,
) {
	ctx.stats.durationMs = Math.round(ctx.now() - started);
	return {
		results: tasks.map((t) => ({ room: t.room, userId: t.userId, status, reason, attempts: 0 })),
		stats: ctx.stats,
	};
}

function pairKey(roomId: string, userId: string): string {
	return `${roomId}\u0000${userId}`;
}

/** The people each room reference is needed for (prepareRooms reads small sets per user). */
function usersByRef(tasks: RoomUserTask[]): Map<string, Set<string>> {
	const byRef = new Map<string, Set<string>>();
	for (const task of tasks) {
		const ref = String(task.room ?? '');
		if (!byRef.has(ref)) byRef.set(ref, new Set());
		if (isValidUserId(task.userId)) byRef.get(ref)!.add(String(task.userId));
	}
	return byRef;
}

/**
 * One result per task, in input order: a local verdict, its pair's job result (duplicate pairs share
 * one), or `gaveUp` when the run ended before the job (time budget).
 */
function settle<S extends string>(
	tasks: RoomUserTask[],
	early: Map<number, TaskResult<S>>,
	jobsByKey: Map<string, Job<S>>,
	taskKeys: Array<string | undefined>,
	ctx: RunContext,
	started: number,
): { results: TaskResult<S | 'gaveUp'>[]; stats: RunStats } {
	const results = tasks.map((task, index) => {
		const settled = early.get(index) ?? jobsByKey.get(taskKeys[index]!)?.result;
		return settled
			? { ...settled, room: task.room, userId: task.userId }
			: {
					room: task.room,
					userId: task.userId,
					status: 'gaveUp' as const,
					reason: 'aborted',
					attempts: 0,
				};
	});
	ctx.stats.durationMs = Math.round(ctx.now() - started);
	ctx.stats.learnedRate = ctx.pacer.rate;
	return { results, stats: ctx.stats };
}

/**
 * Invites users into rooms. Every task gets a result, in input order; pairs that appear twice are
 * invited once and reported twice.
 */
export async function inviteUsers(
	client: MatrixClient,
	tasks: RoomUserTask[],
	options: EngineOptions = {},
): Promise<{ results: TaskResult<InviteStatus>[]; stats: RunStats }> {
	const ctx = makeContext(client, options);
	const started = ctx.now();
	const retry = retryOptions(ctx);
	const { me, reason: unreachable } = await identify(client, ctx);
	if (!me) return allGaveUp<InviteStatus>(tasks, 'gaveUp', unreachable!, ctx, started);
	const ownServer = serverNameOf(me);
	const rooms = await prepareRooms(client, new Set(tasks.map((t) => String(t.room ?? ''))), retry, {
		readPowerLevels: true,
		usersByRef: usersByRef(tasks),
		self: me,
	});
	for (const room of rooms.values()) {
		if (room.problem) continue;
		if (room.members.get(me) !== 'join') room.problem = 'botNotInRoom';
		else if (
			room.powerLevels &&
			levelOf(room.powerLevels, me) < requiredLevel(room.powerLevels, 'invite')
		)
			room.problem = 'insufficientPower';
	}
	const early = new Map<number, TaskResult<InviteStatus>>();
	const jobsByKey = new Map<string, Job<InviteStatus>>();
	const taskKeys: Array<string | undefined> = [];
	tasks.forEach((task, index) => {
		const room = rooms.get(String(task.room ?? ''))!;
		const base = { room: task.room, userId: task.userId, roomId: room.roomId, attempts: 0 };
		if (!isValidUserId(task.userId)) {
			early.set(index, { ...base, status: 'invalidUserId', reason: 'invalidUserId' });
		} else if (room.problem) {
			early.set(index, {
				...base,
				status: roomProblemStatus(room.problem, 'gaveUp', 'notPermitted'),
				reason: room.problem,
			});
		} else {
			const membership = room.members.get(task.userId);
			if (membership === 'join')
				early.set(index, { ...base, status: 'alreadyJoined', reason: 'alreadyJoined' });
			else if (membership === 'invite')
				early.set(index, { ...base, status: 'alreadyInvited', reason: 'alreadyInvited' });
			else if (membership === 'ban')
				early.set(index, { ...base, status: 'banned', reason: 'banned' });
			else {
				const key = pairKey(room.roomId!, task.userId);
				taskKeys[index] = key;
				if (!jobsByKey.has(key))
					jobsByKey.set(key, {
						key,
						task,
						room,
						action: 'invite',
						notBefore: 0,
						attempts: 0,
						failures: 0,
					});
			}
		}
	});
	const perInvitee =
		options.perInvitee === undefined ? { perSecond: 0.003, burst: 5 } : options.perInvitee;
	await runJobs<InviteStatus>(
		ctx,
		[...jobsByKey.values()],
		(job) => client.invite(job.room.roomId!, job.task.userId, options.reason),
		() => ({ status: 'invited', reason: 'invited' }),
		(job, failure) => classifyInviteFailure(failure, job.task.userId, ownServer),
		{ gaveUp: 'gaveUp', notPermitted: 'notPermitted' },
		perInvitee ? new InviteeBuckets(perInvitee.perSecond, perInvitee.burst) : undefined,
		ownServer,
	);
	return settle(tasks, early, jobsByKey, taskKeys, ctx, started);
}

/**
 * Withdraws pending invites and (unless `removeMembers` is false) removes joined members, e.g. for
 * cancelled orders. Reads each room's membership once.
 */
export async function revokeUsers(
	client: MatrixClient,
	tasks: RoomUserTask[],
	options: EngineOptions = {},
): Promise<{ results: TaskResult<RevokeStatus>[]; stats: RunStats }> {
	const ctx = makeContext(client, options);
	const started = ctx.now();
	const retry = retryOptions(ctx);
	const { me, reason: unreachable } = await identify(client, ctx);
	if (!me) return allGaveUp<RevokeStatus>(tasks, 'gaveUp', unreachable!, ctx, started);
	const rooms = await prepareRooms(client, new Set(tasks.map((t) => String(t.room ?? ''))), retry, {
		readPowerLevels: true,
		usersByRef: usersByRef(tasks),
		self: me,
	});
	for (const room of rooms.values()) {
		if (room.problem) continue;
		if (room.members.get(me) !== 'join') room.problem = 'botNotInRoom';
		else if (
			room.powerLevels &&
			levelOf(room.powerLevels, me) < requiredLevel(room.powerLevels, 'kick')
		)
			room.problem = 'insufficientPower';
	}
	const removeMembers = options.removeMembers ?? true;
	const early = new Map<number, TaskResult<RevokeStatus>>();
	const jobsByKey = new Map<string, Job<RevokeStatus>>();
	const taskKeys: Array<string | undefined> = [];
	tasks.forEach((task, index) => {
		const room = rooms.get(String(task.room ?? ''))!;
		const base = { room: task.room, userId: task.userId, roomId: room.roomId, attempts: 0 };
		if (!isValidUserId(task.userId))
			return early.set(index, { ...base, status: 'invalidUserId', reason: 'invalidUserId' });
		if (room.problem)
			return early.set(index, {
				...base,
				status: roomProblemStatus(room.problem, 'gaveUp', 'notPermitted'),
				reason: room.problem,
			});
		const membership = room.members.get(task.userId);
		if (membership === 'ban')
			return early.set(index, { ...base, status: 'banned', reason: 'banned' });
		if (membership !== 'invite' && membership !== 'join')
			return early.set(index, {
				...base,
				status: 'notInRoom',
				reason: membership === 'leave' ? 'left' : 'neverInRoom',
			});
		if (membership === 'join' && !removeMembers)
			return early.set(index, { ...base, status: 'notPermitted', reason: 'memberKept' });
		if (
			membership === 'join' &&
			room.powerLevels &&
			levelOf(room.powerLevels, task.userId) >= levelOf(room.powerLevels, me)
		) {
			return early.set(index, { ...base, status: 'notPermitted', reason: 'targetPowerTooHigh' });
		}
		const key = pairKey(room.roomId!, task.userId);
		taskKeys[index] = key;
		if (!jobsByKey.has(key))
			jobsByKey.set(key, {
				key,
				task,
				room,
				action: 'kick',
				notBefore: 0,
				attempts: 0,
				failures: 0,
			});
		return undefined;
	});
	await runJobs<RevokeStatus>(
		ctx,
		[...jobsByKey.values()],
		(job) => client.kick(job.room.roomId!, job.task.userId, options.reason),
		(job) =>
			job.room.members.get(job.task.userId) === 'invite'
				? { status: 'withdrawn', reason: 'inviteWithdrawn' }
				: { status: 'removed', reason: 'removed' },
		(_job, failure) => classifyKickFailure(failure),
		{ gaveUp: 'gaveUp', notPermitted: 'notPermitted' },
	);
	return settle(tasks, early, jobsByKey, taskKeys, ctx, started);
}

export type MembershipState = 'joined' | 'invited' | 'left' | 'banned' | 'none';

export interface MembershipResult extends RoomUserTask {
	roomId?: string;
	status: 'ok' | 'invalidUserId' | 'notPermitted' | 'gaveUp';
	membership?: MembershipState;
	reason: string;
}

/** Post-event statistics: who accepted, who is still invited, who left. One /members read per room. */
export async function membershipReport(
	client: MatrixClient,
	tasks: RoomUserTask[],
	options: EngineOptions = {},
): Promise<MembershipResult[]> {
	const ctx = makeContext(client, options);
	const rooms = await prepareRooms(
		client,
		new Set(tasks.map((t) => String(t.room ?? ''))),
		retryOptions(ctx),
		{ usersByRef: usersByRef(tasks) },
	);
	const map: Record<string, MembershipState> = {
		join: 'joined',
		invite: 'invited',
		leave: 'left',
		ban: 'banned',
		knock: 'none',
	};
	return tasks.map((task) => {
		const room = rooms.get(String(task.room ?? ''))!;
		const base = { room: task.room, userId: task.userId, roomId: room.roomId };
		if (!isValidUserId(task.userId))
			return { ...base, status: 'invalidUserId', reason: 'invalidUserId' };
		if (room.problem)
			return {
				...base,
				status: roomProblemStatus(room.problem, 'gaveUp', 'notPermitted'),
				reason: room.problem,
			};
		const raw = room.members.get(task.userId);
		return {
			...base,
			status: 'ok',
			membership: raw ? (map[raw] ?? 'none') : 'none',
			reason: raw ?? 'none',
		};
	});
}
