import { backoffMs, sleepMs } from '../http/retry';
import {
	MatrixApiError,
	type MatrixClient,
	type MatrixFailure,
	type MatrixOutcome,
} from './client';
import type { BotFacts } from './bot-facts';
import { isValidUserId, serverNameOf } from './ids';
import {
	InviteScheduler,
	type AdaptivePacer,
	type InviteLimits,
	type LimitConfig,
	type PacedAction,
	type PacerOptions,
	type SchedulerMode,
} from './pacer';
import { withRetries, type RetryOptions } from './retrying';
import { isSpace, spaceChildren, type SpaceChild } from './spaces';
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
	/**
	 * When another try makes sense, in ms from the end of the run: an unreachable remote server
	 * (`serverUnreachable`: UNREACHABLE_SERVER_RETRY_MS), an invitee whose own limit is used up.
	 */
	retryAfterMs?: number;
	/** Revoke from a space: the outcome in each child room restricted to it the person was in. */
	childRooms?: ChildRoomResult[];
}

/** What lifting the bot's own limits through Synapse's admin API came to (option `liftRateLimits`). */
export type RateLimitOverrideOutcome = 'applied' | 'alreadyLifted' | 'notAdmin' | 'unavailable';

export interface RunStats {
	durationMs: number;
	requests: number;
	rateLimited: number;
	/** The pace (actions/s) the run worked at when it finished (modelled or learned). */
	learnedRate: number;
	/** How the run was paced: by Synapse's known limits, learned from 429s, or without limits. */
	mode: SchedulerMode;
	/** Requests sent beyond the modelled limits to find out whether the server allows more. */
	probes: number;
	rateLimitOverride?: RateLimitOverrideOutcome;
}

/**
 * A remote server that did not answer (Synapse: 502 after ~4 s) is not worth another invite for
 * this long: every try costs the invite limiters' and rc_message's tokens.
 */
export const UNREACHABLE_SERVER_RETRY_MS = 3_600_000;

export interface EngineOptions {
	/** Shown to the invitee / recorded in the membership event. */
	reason?: string;
	/** Parallel requests in flight (default 4). */
	concurrency?: number;
	/**
	 * Overall time budget for the run in ms. Undefined, 0 or less: none — the run ends when every
	 * task has ended, and nothing ends as `gaveUp` for lack of time.
	 */
	budgetMs?: number;
	/** Retries per user for 5xx / network failures (default 4). */
	maxRetries?: number;
	/**
	 * The homeserver's limits: Synapse's defaults (the default) or other numbers, as a belief the
	 * run corrects from probes and 429s; 'learn' assumes nothing (the adaptive pacer learns).
	 */
	limits?: Partial<InviteLimits> | 'learn';
	/** The learning pacer: shared between runs, or options for a fresh one. Alone, it means 'learn'. */
	pacer?: AdaptivePacer | PacerOptions;
	/** A scheduler shared between runs against the same homeserver and bot (same process). */
	scheduler?: InviteScheduler;
	/**
	 * Facts about the bot shared between runs (same process, see `sharedBotFacts`): its user ID,
	 * resolved aliases, rooms it may invite into. Invites skip those reads while they are fresh.
	 */
	botFacts?: BotFacts;
	/** The homeserver's per-invitee limit (Synapse: 0.003/s, burst 5); false to not track it. */
	perInvitee?: LimitConfig | false;
	/** rc_message tokens per minute to leave for notices the bot posts while the run goes on. */
	reserveMessagesPerMinute?: number;
	/**
	 * The bot is a Synapse server admin: before the run, lift its own rate limits with the admin API
	 * (`override_ratelimit` 0/0, which stays set). Not an admin: the run goes on with the limits.
	 */
	liftRateLimits?: boolean;
	/** Revoke: also remove users who already joined (default true); false withdraws invites only. */
	removeMembers?: boolean;
	/** Revoke from a space: also from its child rooms restricted to the space (default true). */
	restrictedChildren?: boolean;
	signal?: AbortSignal;
	now?: () => number;
	sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

type Verdict<S extends string> =
	| { kind: 'done'; status: S; reason: string }
	/** remoteSuspect: a 5xx on inviting a remote user that may be that user's server, or ours. */
	| { kind: 'retry'; remoteSuspect?: boolean }
	| { kind: 'rateLimited'; waitMs: number; precise: boolean }
	/** The bot may not act in this room at all: settle every remaining task of the room. */
	| { kind: 'roomBlocked'; reason: RoomProblem | 'unknownRoom' };

interface Job<S extends string> {
	key: string;
	task: RoomUserTask;
	room: RoomInfo;
	action: 'invite' | 'kick';
	paced: PacedAction;
	notBefore: number;
	attempts: number;
	failures: number;
	/** When this job's first 5xx or network failure came (ctx.now()), to tell whose fault it was. */
	firstFailureAt?: number;
	result?: TaskResult<S>;
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
		if (serverNameOf(userId) === ownServer) return { kind: 'retry' };
		// Synapse's own word that the invitee's server can't be reached: a 502 with its JSON error
		// ("Can't connect to server …", §3.2 table). Backed off for an hour at once.
		if (status === 502 && serverError)
			return { kind: 'done', status: 'serverUnreachable', reason: 'remoteServerUnreachable' };
		// Any other 5xx (older Synapse's 500 for an unreachable remote, §3.2 notes, but just as well
		// our own homeserver's passing fault or a proxy's 502) is retried like any 5xx; only when the
		// retries run out while our homeserver kept answering is the remote server held unreachable.
		return { kind: 'retry', remoteSuspect: true };
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
	scheduler: InviteScheduler;
	stats: RunStats;
}

function newScheduler(
	options: EngineOptions,
	now: () => number,
	sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
	unlimited = false,
): InviteScheduler {
	return new InviteScheduler({
		limits: options.limits ?? (options.pacer ? 'learn' : undefined),
		pacer: options.pacer,
		perInvitee: options.perInvitee,
		reserveMessagesPerMinute: options.reserveMessagesPerMinute,
		unlimited,
		now,
		sleep,
	});
}

/**
 * Schedulers shared by the runs of this process that use the same homeserver, bot credential and
 * limits. Each pretix webhook is an n8n execution of its own: with one scheduler each, a burst of
 * concurrent runs each believed it had the bot's whole rc_message budget, drew 429s and — Synapse
 * charges the invite limiters before rc_message (synapse/handlers/room_member.py) — burnt their
 * invitees' per-invitee tokens (burst 5, then one per ~5.5 min) until those invites gave up.
 */
const sharedSchedulers = new Map<string, { scheduler: InviteScheduler; usedAt: number }>();
/**
 * An idle shared scheduler is dropped after this long: by then every bucket it models is full again
 * (Synapse's per-invitee bucket refills 5 tokens at 0.003/s in ~28 min), so it knows nothing a fresh
 * one would not, and the Matrix IDs it keys invitee buckets by are not kept beyond pacing's need.
 */
export const SHARED_SCHEDULER_IDLE_MS = 30 * 60_000;

/** The scheduler runs with this key share in this process (a fresh one after SHARED_SCHEDULER_IDLE_MS idle). */
export function sharedScheduler(
	key: string,
	options: EngineOptions,
	at = Date.now(),
): InviteScheduler {
	for (const [k, entry] of sharedSchedulers)
		if (at - entry.usedAt > SHARED_SCHEDULER_IDLE_MS) sharedSchedulers.delete(k);
	let entry = sharedSchedulers.get(key);
	if (!entry) {
		entry = { scheduler: newScheduler(options, () => performance.now(), sleepMs), usedAt: at };
		sharedSchedulers.set(key, entry);
	}
	entry.usedAt = at;
	return entry.scheduler;
}

function makeContext(client: MatrixClient, options: EngineOptions): RunContext {
	const now = options.now ?? (() => performance.now());
	const sleep = options.sleep ?? sleepMs;
	const scheduler = options.scheduler ?? newScheduler(options, now, sleep);
	const budget = options.budgetMs;
	return {
		client,
		options,
		now,
		sleep,
		deadline:
			budget !== undefined && Number.isFinite(budget) && budget > 0 ? now() + budget : Infinity,
		scheduler,
		stats: {
			durationMs: 0,
			requests: 0,
			rateLimited: 0,
			learnedRate: scheduler.rate,
			mode: scheduler.mode,
			probes: 0,
		},
	};
}

function retryOptions(ctx: RunContext): RetryOptions {
	return {
		deadline: ctx.deadline,
		now: ctx.now,
		sleep: ctx.sleep,
		signal: ctx.options.signal,
		maxRetries: ctx.options.maxRetries ?? 4,
	};
}

/**
 * Synapse admin API (synapse/rest/admin/users.py `RateLimitRestServlet`): 0 messages per second in
 * the bot's `ratelimit_override` lifts every limiter checked with the bot as requester — invites,
 * rc_message, joins. Only server admins may set it (others get 403); it stays set after the run.
 */
export async function liftOwnRateLimits(
	client: MatrixClient,
	userId: string,
	retry: RetryOptions,
): Promise<RateLimitOverrideOutcome> {
	const outcomeOf = (failure: MatrixFailure): RateLimitOverrideOutcome => {
		if (failureIsAuth(failure)) throw authError(failure);
		return failure.kind === 'http' && failure.status === 403 ? 'notAdmin' : 'unavailable';
	};
	const current = await withRetries(() => client.rateLimitOverride(userId), retry);
	if (!current.ok) return outcomeOf(current);
	if (current.value?.messages_per_second === 0) return 'alreadyLifted';
	const set = await withRetries(() => client.setRateLimitOverride(userId, 0, 0), retry);
	return set.ok ? 'applied' : outcomeOf(set);
}

/** With the bot's limits lifted, the run paces only by the server's own pushback. */
async function maybeLiftLimits(ctx: RunContext, me: string): Promise<void> {
	if (!ctx.options.liftRateLimits) return;
	const outcome = await liftOwnRateLimits(ctx.client, me, retryOptions(ctx));
	ctx.stats.rateLimitOverride = outcome;
	if (outcome === 'applied' || outcome === 'alreadyLifted') {
		ctx.scheduler = newScheduler(ctx.options, ctx.now, ctx.sleep, true);
		ctx.stats.mode = ctx.scheduler.mode;
	}
}

function remoteServerOf(job: Job<string>, ownServer?: string): string | undefined {
	if (job.action !== 'invite' || ownServer === undefined) return undefined;
	const server = serverNameOf(job.task.userId);
	return server !== ownServer ? server : undefined;
}

/**
 * Runs the jobs with bounded concurrency under the scheduler. Each job ends with a result; when a
 * time budget is set, whatever cannot be done within it ends as `gaveUp`.
 *
 * Order: first come, first served, but a job waits only for its own buckets (its room, its
 * invitee) and the bot's; a job the server refused goes to the back of the queue, so the next
 * requests go to other people while the refused invitee's bucket refills.
 */
async function runJobs<S extends string>(
	ctx: RunContext,
	jobs: Job<S>[],
	act: (job: Job<S>) => Promise<MatrixOutcome<unknown>>,
	onSuccess: (job: Job<S>) => { status: S; reason: string },
	classify: (job: Job<S>, failure: MatrixFailure) => Verdict<S>,
	statuses: { gaveUp: S; notPermitted: S },
	ownServer?: string,
): Promise<void> {
	const pending = [...jobs];
	const blockedRooms = new Map<string, RoomProblem | 'unknownRoom'>();
	/** Remote servers that did not answer during this run: their other invitees are not tried. */
	const unreachable = new Set<string>();
	/**
	 * Remote servers that answered: until one has, only one invite to it is in flight, so a server
	 * that does not exist (Synapse: 502 after ~4 s) costs one request, not one per worker.
	 */
	const answered = new Set<string>();
	const asking = new Set<string>();
	/**
	 * A remote server whose invitee met a 5xx that may be that server's (remoteSuspect): its other
	 * invitees wait until that job is settled, so a dead server costs one invitee's tries.
	 */
	const probing = new Map<string, Job<S>>();
	const scheduler = ctx.scheduler;
	const signal = ctx.options.signal;
	let inFlight = 0;
	let fatal: Error | undefined;
	/** The last time our homeserver answered an invite or kick with success or a 4xx: it was up. */
	let homeserverAnsweredAt = -Infinity;
	const settle = (job: Job<S>, status: S, reason: string, retryAfterMs?: number) => {
		const remote = remoteServerOf(job, ownServer);
		if (remote && probing.get(remote) === job) probing.delete(remote);
		job.result = { ...job.task, roomId: job.room.roomId, status, reason, attempts: job.attempts };
		if (retryAfterMs !== undefined) job.result.retryAfterMs = Math.max(0, Math.round(retryAfterMs));
	};
	const readyAt = (job: Job<S>, now: number) => {
		const remote = remoteServerOf(job, ownServer);
		const probe = remote ? probing.get(remote) : undefined;
		const waitingForServer =
			remote &&
			!answered.has(remote) &&
			(asking.has(remote) || (probe !== undefined && probe !== job));
		return Math.max(
			job.notBefore,
			scheduler.keyReadyAt(job.paced, now),
			waitingForServer ? now + 250 : 0,
		);
	};
	const next = (): Job<S> | undefined => {
		const now = ctx.now();
		const index = pending.findIndex((j) => readyAt(j, now) <= now);
		return index >= 0 ? pending.splice(index, 1)[0] : undefined;
	};
	const giveUpRemaining = (now: number) => {
		for (const job of pending.splice(0)) {
			const inviteeWait =
				job.paced.kind === 'invite' ? scheduler.inviteeReadyAt(job.paced.invitee, now) - now : 0;
			if (inviteeWait > 0 && now + inviteeWait > ctx.deadline)
				settle(job, statuses.gaveUp, 'inviteeRateLimited', inviteeWait);
			else settle(job, statuses.gaveUp, job.attempts ? 'rateLimited' : 'budgetExhausted');
		}
	};
	const worker = async () => {
		for (;;) {
			if (fatal || signal?.aborted) return;
			const job = next();
			if (!job) {
				if (!pending.length && inFlight === 0) return;
				if (!pending.length) {
					await ctx.sleep(20, signal);
					continue;
				}
				const now = ctx.now();
				const soonest = Math.min(...pending.map((j) => readyAt(j, now)));
				if (soonest > ctx.deadline) {
					giveUpRemaining(now);
					continue;
				}
				await ctx.sleep(Math.max(1, Math.min(soonest - now, 250)), signal);
				continue;
			}
			const blocked = blockedRooms.get(job.room.roomId ?? '');
			if (blocked) {
				settle(job, roomProblemStatus(blocked, statuses.gaveUp, statuses.notPermitted), blocked);
				continue;
			}
			const remote = remoteServerOf(job, ownServer);
			if (remote && unreachable.has(remote)) {
				settle(
					job,
					'serverUnreachable' as S,
					'remoteServerUnreachable',
					UNREACHABLE_SERVER_RETRY_MS,
				);
				continue;
			}
			// Taken now, so other workers see this room and invitee in use while we wait for the bot's slot.
			const reservation = scheduler.reserveKeys(job.paced);
			if (remote) asking.add(remote);
			inFlight++;
			try {
				const ticket = await scheduler.acquire(job.paced, ctx.deadline, signal);
				if (!ticket) {
					reservation.release();
					settle(
						job,
						statuses.gaveUp,
						signal?.aborted ? 'aborted' : job.attempts ? 'rateLimited' : 'budgetExhausted',
					);
					continue;
				}
				job.attempts++;
				ctx.stats.requests++;
				const outcome = await act(job);
				// A 429 is our homeserver's answer, not the remote server's.
				const remoteAnswered =
					outcome.ok || (outcome.kind === 'http' && outcome.status < 500 && outcome.status !== 429);
				if (remote && remoteAnswered) answered.add(remote);
				if (outcome.ok || (outcome.kind === 'http' && outcome.status < 500))
					homeserverAnsweredAt = ctx.now();
				if (outcome.ok) {
					scheduler.succeeded(ticket);
					const done = onSuccess(job);
					settle(job, done.status, done.reason);
					continue;
				}
				if (failureIsAuth(outcome)) {
					fatal = authError(outcome);
					return;
				}
				const verdict = classify(job, outcome);
				if (verdict.kind === 'done' || verdict.kind === 'roomBlocked') {
					if (outcome.kind === 'http' && outcome.status === 400) {
						// Rejected while the request was parsed: no limiter counted it.
						reservation.release();
						scheduler.refusedBeforeMessage(ticket);
					} else if (outcome.kind === 'http' && outcome.status < 500) {
						scheduler.refusedBeforeMessage(ticket);
					} else scheduler.failed(ticket);
				}
				if (verdict.kind === 'done') {
					if (verdict.status === 'serverUnreachable' && remote) {
						unreachable.add(remote);
						settle(job, verdict.status, verdict.reason, UNREACHABLE_SERVER_RETRY_MS);
					} else settle(job, verdict.status, verdict.reason);
				} else if (verdict.kind === 'roomBlocked') {
					blockedRooms.set(job.room.roomId ?? '', verdict.reason);
					settle(
						job,
						roomProblemStatus(verdict.reason, statuses.gaveUp, statuses.notPermitted),
						verdict.reason,
					);
				} else if (verdict.kind === 'rateLimited') {
					ctx.stats.rateLimited++;
					const { retryAt, inviteeLimited } = scheduler.rateLimited(
						ticket,
						verdict.waitMs,
						verdict.precise,
					);
					if (retryAt > ctx.deadline)
						settle(
							job,
							statuses.gaveUp,
							inviteeLimited ? 'inviteeRateLimited' : 'rateLimited',
							retryAt - ctx.now(),
						);
					else {
						// To the back of the queue: the next requests go to other people.
						job.notBefore = retryAt;
						pending.push(job);
					}
				} else {
					scheduler.failed(ticket);
					job.failures++;
					job.firstFailureAt ??= ctx.now();
					if (verdict.remoteSuspect && remote && !answered.has(remote) && !probing.has(remote))
						probing.set(remote, job);
					const why = outcome.kind === 'network' ? 'homeserverUnreachable' : 'homeserverError';
					const wait = backoffMs(job.failures - 1, 500);
					if (job.failures > (ctx.options.maxRetries ?? 4) || ctx.now() + wait > ctx.deadline) {
						// Every try for this remote invitee failed while our homeserver answered others:
						// the remote server is the one not answering (older Synapse says so with a 500).
						if (verdict.remoteSuspect && remote && homeserverAnsweredAt > job.firstFailureAt) {
							unreachable.add(remote);
							settle(
								job,
								'serverUnreachable' as S,
								'remoteServerUnreachable',
								UNREACHABLE_SERVER_RETRY_MS,
							);
						} else settle(job, statuses.gaveUp, why);
					} else {
						job.notBefore = ctx.now() + wait;
						pending.push(job);
					}
				}
			} finally {
				inFlight--;
				if (remote) asking.delete(remote);
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
	const known = ctx.options.botFacts?.self();
	if (known) return { me: known };
	try {
		const me = await whoAmI(client, retryOptions(ctx));
		ctx.options.botFacts?.rememberSelf(me);
		return { me };
	} catch (error) {
		const failure = error instanceof MatrixApiError ? error.failure : undefined;
		// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: runError() maps it (CONTRIBUTING.md)
		if (!failure || failureIsAuth(failure)) throw error;
		if (failure.kind === 'network') return { reason: 'homeserverUnreachable' };
		if (failure.status >= 500 || failure.status === 429) return { reason: 'homeserverError' };
		// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: runError() maps it (CONTRIBUTING.md)
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
	ctx.stats.learnedRate = ctx.scheduler.rate;
	ctx.stats.mode = ctx.scheduler.mode;
	ctx.stats.probes = ctx.scheduler.probes;
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
	let finished = false;
	try {
		const run = await inviteOnce(client, tasks, options);
		finished = true;
		// A room that refused the bot is read again next time (the facts were stale or never true).
		for (const result of run.results)
			if (result.roomId && BOT_REFUSED.has(result.reason))
				options.botFacts?.forgetRoom(result.roomId);
		return run;
	} finally {
		// A rejected token (or anything unexpected): nothing learned under it is trusted any more.
		if (!finished) options.botFacts?.forgetAll();
	}
}

/** Reasons that say the bot itself may not invite in the room. */
const BOT_REFUSED = new Set(['botNotInRoom', 'insufficientPower', 'unknownRoom', 'roomNotFound']);

async function inviteOnce(
	client: MatrixClient,
	tasks: RoomUserTask[],
	options: EngineOptions,
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
		facts: options.botFacts,
		trustBotMayInvite: true,
	});
	for (const room of rooms.values()) {
		if (room.problem || room.botMayInviteFromCache) continue;
		if (room.members.get(me) !== 'join') room.problem = 'botNotInRoom';
		else if (
			room.powerLevels &&
			levelOf(room.powerLevels, me) < requiredLevel(room.powerLevels, 'invite')
		)
			room.problem = 'insufficientPower';
		// Only a full check is remembered (power levels read and sufficient), never a guess.
		else if (room.powerLevels && room.roomId) options.botFacts?.rememberBotMayInvite(room.roomId);
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
						paced: { kind: 'invite', roomId: room.roomId!, invitee: task.userId },
						notBefore: 0,
						attempts: 0,
						failures: 0,
					});
			}
		}
	});
	if (jobsByKey.size) await maybeLiftLimits(ctx, me);
	await runJobs<InviteStatus>(
		ctx,
		[...jobsByKey.values()],
		(job) => client.invite(job.room.roomId!, job.task.userId, options.reason),
		() => ({ status: 'invited', reason: 'invited' }),
		(job, failure) => classifyInviteFailure(failure, job.task.userId, ownServer),
		{ gaveUp: 'gaveUp', notPermitted: 'notPermitted' },
		ownServer,
	);
	return settle(tasks, early, jobsByKey, taskKeys, ctx, started);
}

/** Revoke from a space: the outcome in one child room restricted to the space. */
export interface ChildRoomResult {
	roomId: string;
	status: RevokeStatus;
	reason: string;
	attempts: number;
}

/** Sets `room.problem` when the bot cannot `action` in the room at all (not in it, too little power). */
function checkBotCan(rooms: Iterable<RoomInfo>, me: string, action: 'invite' | 'kick'): void {
	for (const room of rooms) {
		if (room.problem) continue;
		if (room.members.get(me) !== 'join') room.problem = 'botNotInRoom';
		else if (
			room.powerLevels &&
			levelOf(room.powerLevels, me) < requiredLevel(room.powerLevels, action)
		)
			room.problem = 'insufficientPower';
	}
}

/** A revoke settled without asking the homeserver, or the key of the kick it needs. */
function planRevoke(
	room: RoomInfo,
	task: RoomUserTask,
	me: string,
	removeMembers: boolean,
): { early: TaskResult<RevokeStatus> } | { key: string } {
	const base = { room: task.room, userId: task.userId, roomId: room.roomId, attempts: 0 };
	if (!isValidUserId(task.userId))
		return { early: { ...base, status: 'invalidUserId', reason: 'invalidUserId' } };
	if (room.problem)
		return {
			early: {
				...base,
				status: roomProblemStatus(room.problem, 'gaveUp', 'notPermitted'),
				reason: room.problem,
			},
		};
	const membership = room.members.get(task.userId);
	if (membership === 'ban') return { early: { ...base, status: 'banned', reason: 'banned' } };
	if (membership !== 'invite' && membership !== 'join')
		return {
			early: {
				...base,
				status: 'notInRoom',
				reason: membership === 'leave' ? 'left' : 'neverInRoom',
			},
		};
	if (membership === 'join' && !removeMembers)
		return { early: { ...base, status: 'notPermitted', reason: 'memberKept' } };
	if (
		membership === 'join' &&
		room.powerLevels &&
		levelOf(room.powerLevels, task.userId) >= levelOf(room.powerLevels, me)
	)
		return { early: { ...base, status: 'notPermitted', reason: 'targetPowerTooHigh' } };
	return { key: pairKey(room.roomId!, task.userId) };
}

/**
 * Withdraws pending invites and (unless `removeMembers` is false) removes joined members, e.g. for
 * cancelled orders. Reads each room's membership once. A room that is a space also takes the person
 * out of its children restricted to it (unless `restrictedChildren` is false): they could join
 * those through the space alone, so leaving them there would keep access the order no longer gives.
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
	checkBotCan(rooms.values(), me, 'kick');
	// Spaces among the rooms: their children restricted to them, read once per space. The bot may
	// lack kick power in the space itself and still have it in the children.
	const childrenOf = new Map<string, SpaceChild[]>();
	if (options.restrictedChildren ?? true) {
		for (const room of rooms.values()) {
			if (!room.roomId || childrenOf.has(room.roomId)) continue;
			if (room.problem && room.problem !== 'insufficientPower') continue;
			if (!(await isSpace(client, room.roomId, retry))) continue;
			const children = await spaceChildren(client, room.roomId, retry);
			childrenOf.set(
				room.roomId,
				children.filter((c) => c.restricted || c.problem),
			);
		}
	}
	const childUsers = new Map<string, Set<string>>();
	for (const task of tasks) {
		const spaceId = rooms.get(String(task.room ?? ''))!.roomId;
		if (!spaceId || !isValidUserId(task.userId)) continue;
		for (const child of childrenOf.get(spaceId) ?? []) {
			if (child.problem) continue;
			if (!childUsers.has(child.roomId)) childUsers.set(child.roomId, new Set());
			childUsers.get(child.roomId)!.add(task.userId);
		}
	}
	const childRooms = childUsers.size
		? await prepareRooms(client, childUsers.keys(), retry, {
				readPowerLevels: true,
				usersByRef: childUsers,
				self: me,
			})
		: new Map<string, RoomInfo>();
	checkBotCan(childRooms.values(), me, 'kick');
	const removeMembers = options.removeMembers ?? true;
	const early = new Map<number, TaskResult<RevokeStatus>>();
	const jobsByKey = new Map<string, Job<RevokeStatus>>();
	const taskKeys: Array<string | undefined> = [];
	const addJob = (key: string, task: RoomUserTask, room: RoomInfo) => {
		if (!jobsByKey.has(key))
			jobsByKey.set(key, {
				key,
				task,
				room,
				action: 'kick',
				paced: { kind: 'event' },
				notBefore: 0,
				attempts: 0,
				failures: 0,
			});
	};
	// Per task of a space: each child's settled result, or the key of its kick.
	const childPlans = new Map<
		number,
		Array<{ roomId: string; early?: ChildRoomResult; key?: string }>
	>();
	tasks.forEach((task, index) => {
		const room = rooms.get(String(task.room ?? ''))!;
		const plan = planRevoke(room, task, me, removeMembers);
		if ('early' in plan) early.set(index, plan.early);
		else {
			taskKeys[index] = plan.key;
			addJob(plan.key, task, room);
		}
		const children =
			room.roomId && isValidUserId(task.userId) ? childrenOf.get(room.roomId) : undefined;
		if (!children?.length) return;
		const entries: Array<{ roomId: string; early?: ChildRoomResult; key?: string }> = [];
		for (const child of children) {
			if (child.problem) {
				// The bot cannot read the child's join rule: the person may be in it through the space.
				entries.push({
					roomId: child.roomId,
					early: {
						roomId: child.roomId,
						status: child.problem === 'botNotInRoom' ? 'notPermitted' : 'gaveUp',
						reason: child.problem,
						attempts: 0,
					},
				});
				continue;
			}
			const childRoom = childRooms.get(child.roomId)!;
			const childTask = { room: child.roomId, userId: task.userId };
			const childPlan = planRevoke(childRoom, childTask, me, removeMembers);
			if ('early' in childPlan) {
				// Not in that child: nothing to report about a room the person never entered.
				if (childPlan.early.status === 'notInRoom') continue;
				const { status, reason, attempts } = childPlan.early;
				entries.push({
					roomId: child.roomId,
					early: { roomId: child.roomId, status, reason, attempts },
				});
			} else {
				entries.push({ roomId: child.roomId, key: childPlan.key });
				addJob(childPlan.key, childTask, childRoom);
			}
		}
		childPlans.set(index, entries);
	});
	if (jobsByKey.size) await maybeLiftLimits(ctx, me);
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
	const settled = settle(tasks, early, jobsByKey, taskKeys, ctx, started);
	for (const [index, entries] of childPlans) {
		settled.results[index].childRooms = entries.map((entry) => {
			if (entry.early) return entry.early;
			const done = jobsByKey.get(entry.key!)?.result;
			return done
				? {
						roomId: entry.roomId,
						status: done.status,
						reason: done.reason,
						attempts: done.attempts,
					}
				: { roomId: entry.roomId, status: 'gaveUp' as const, reason: 'aborted', attempts: 0 };
		});
	}
	return settled;
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
