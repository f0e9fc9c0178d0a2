import { sleepMs } from '../http/retry';

/**
 * Learns how fast a homeserver lets us act, from its 429 answers.
 *
 * Synapse limits with a leaky bucket (reference §3.3). When a 429 arrives right after a success, the
 * bucket was full at that success, so `retry_after + time since that success` is one token period:
 * 1000 / (retry_after_ms + sinceLastSuccessMs) is an upper bound of the server's rate that is tight
 * under saturation. We pace a little under it, then probe upwards slowly, and cut
 * again on the next 429 (multiplicative decrease, AIMD). Before the first 429 we ramp up quickly
 * (slow start), so an unlimited server is not crawled at the initial rate.
 *
 * Pacing is a virtual schedule (GCRA): every acquire reserves the next slot; a 429 pauses everyone
 * until the server's retry time, and slots reserved before it are re-reserved.
 */
export interface PacerOptions {
	/** Starting pace, actions per second (default 10). */
	initialRate?: number;
	minRate?: number;
	maxRate?: number;
	/** How many actions may go back to back when we have been idle (default 1: smooth). */
	burst?: number;
	/** Share of the estimated server rate to pace at after a 429 (default 0.95). */
	backoffFactor?: number;
	/** Increase per success after the first 429, as a share of the rate (default 0.001). */
	probeGrowthPerSuccess?: number;
	/**
	 * Start as if already pushed back (no slow start): the initial pace is believed, e.g. when a run
	 * leaves a model of the server's limits that turned out too generous.
	 */
	startLimited?: boolean;
	now?: () => number;
	sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Actions per second below which a 429 does not push the pace unless it tells the server's rate
 * (see onRateLimited): storms, or other clients draining the same bucket, must not starve a run.
 */
export const UNINFORMED_FLOOR = 0.5;

/**
 * After this long without a 429, probe upwards quickly again (slow start). When the last cut came
 * from a tight estimate of the server's rate, wait at least QUIET_INTERVALS slots too, so a slow
 * server (Synapse: 0.3/s) is re-probed rarely.
 */
const QUIET_MS = 10_000;
const QUIET_INTERVALS = 20;
/** …but never longer than this: a storm's tight estimate must not keep a run slow for minutes. */
const QUIET_MAX_MS = 60_000;

export class AdaptivePacer {
	rate: number;
	private readonly minRate: number;
	private readonly maxRate: number;
	private readonly burst: number;
	private readonly backoffFactor: number;
	private readonly probeGrowth: number;
	private readonly now: () => number;
	private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
	private tat: number;
	private pausedUntil = 0;
	private lastSuccessAt: number | undefined;
	private lastGrowthAt: number;
	private limited = false;
	private lastCutAt = -Infinity;
	private lastLimitedAt = -Infinity;
	private lastCutTight = false;
	rateLimitedCount = 0;

	constructor(options: PacerOptions = {}) {
		this.minRate = options.minRate ?? 0.01;
		this.maxRate = options.maxRate ?? 200;
		this.rate = clamp(options.initialRate ?? 10, this.minRate, this.maxRate);
		this.burst = Math.max(1, options.burst ?? 1);
		this.backoffFactor = options.backoffFactor ?? 0.95;
		this.probeGrowth = options.probeGrowthPerSuccess ?? 0.001;
		this.now = options.now ?? (() => performance.now());
		this.sleep = options.sleep ?? sleepMs;
		this.tat = this.now();
		this.lastGrowthAt = this.tat;
		if (options.startLimited) {
			this.limited = true;
			this.lastLimitedAt = this.tat;
		}
	}

	private get interval(): number {
		return 1000 / this.rate;
	}

	/**
	 * Waits for the next slot. Resolves false, without waiting, when that slot lies past `deadline`
	 * (the caller then gives up instead of sleeping beyond its budget).
	 */
	async acquire(deadline = Infinity, signal?: AbortSignal): Promise<boolean> {
		for (;;) {
			if (signal?.aborted) return false;
			const now = this.now();
			const slot = Math.max(now, this.pausedUntil, this.tat - (this.burst - 1) * this.interval);
			if (slot > deadline) return false;
			this.tat = Math.max(this.tat, slot) + this.interval;
			const pauseSeen = this.pausedUntil;
			if (slot > now) await this.sleep(slot - now, signal);
			// A 429 arrived while we waited: our slot was planned before the server said "slow down".
			if (this.pausedUntil > pauseSeen && this.pausedUntil > this.now()) continue;
			return true;
		}
	}

	/** Holds every slot back for `ms` without changing the pace (the server named a wait). */
	pauseFor(ms: number): void {
		this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
		this.tat = Math.max(this.tat, this.pausedUntil);
	}

	onSuccess(): void {
		const now = this.now();
		this.lastSuccessAt = now;
		const elapsed = Math.max(0, (now - this.lastGrowthAt) / 1000);
		this.lastGrowthAt = now;
		// A storm, or a cut while others drained the bucket, may leave the pace far below what the
		// server allows again; probing by 0.1 % per success would take thousands of actions to recover.
		const quietMs = this.lastCutTight
			? Math.min(QUIET_MAX_MS, Math.max(QUIET_MS, QUIET_INTERVALS * this.interval))
			: QUIET_MS;
		if (this.limited && now - this.lastLimitedAt >= quietMs) this.limited = false;
		// Slow start doubles per second until the server first pushes back; then probe gently, per
		// success, so the share of 429s does not depend on how fast the server is.
		const growth = this.limited ? this.rate * this.probeGrowth : this.rate * (2 ** elapsed - 1);
		this.rate = clamp(this.rate + growth, this.minRate, this.maxRate);
	}

	/**
	 * The server answered 429 and asked us to wait `retryAfterMs`. `precise` is false when the delay
	 * was only known in whole seconds (a `Retry-After` header): the estimate is then too pessimistic,
	 * so one 429 may at most halve the pace. `informed` is false when the server named no delay at all
	 * (the wait is our own backoff): such a 429 tells nothing about the server's rate, so it may halve
	 * the pace but never push it below UNINFORMED_FLOOR — storms of them must not starve a run.
	 */
	onRateLimited(retryAfterMs: number, precise = true, informed = true): void {
		const now = this.now();
		this.rateLimitedCount++;
		this.lastLimitedAt = now;
		this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
		this.tat = Math.max(this.tat, this.pausedUntil);
		this.lastGrowthAt = now;
		// Several in-flight requests may bounce off the same empty bucket: cut once per pause.
		if (now < this.lastCutAt) return;
		this.limited = true;
		const since = this.lastSuccessAt === undefined ? Infinity : now - this.lastSuccessAt;
		// The estimate is tight only while we were acting at our own pace: after a long silence (a
		// fresh run, or a pause while other clients took the tokens) `since` measures them, not us.
		const tight = precise && informed && since <= 2 * this.interval;
		// One answer is one sample: it may cut the pace to a quarter at most (a storm, or a server
		// reconfigured mid-run, can name a wait far longer than its usual token period).
		const estimate = tight ? Math.max(1000 / (retryAfterMs + since), this.rate / 4) : this.rate / 2;
		let next = Math.min(this.rate, estimate) * this.backoffFactor;
		if (!tight) next = Math.max(next, Math.min(this.rate, UNINFORMED_FLOOR));
		this.lastCutTight = tight;
		this.rate = clamp(next, this.minRate, this.maxRate);
		this.lastCutAt = this.pausedUntil;
	}
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, value));
}

// ---------------------------------------------------------------- Synapse's limits, modelled

export interface LimitConfig {
	perSecond: number;
	burst: number;
}

/**
 * The limiters a Synapse invite meets, in the order Synapse checks them: `ratelimit_invite` in
 * synapse/handlers/room_member.py (per room, per invitee, per issuer, each charged as it passes),
 * then rc_message in message.py `persist_and_notify_client_event`, after event auth. Kicks, bans,
 * joins and the bot's notices meet rc_message only. `false`: no such limit.
 */
export interface InviteLimits {
	/** `rc_invites.per_room`, keyed by room (across every inviter). */
	perRoom: LimitConfig | false;
	/** `rc_invites.per_user`, keyed by the invitee (across every room and inviter). */
	perInvitee: LimitConfig | false;
	/** `rc_invites.per_issuer`, keyed by the bot. */
	perIssuer: LimitConfig | false;
	/** `rc_message`, keyed by the bot: every event it sends, invites and notices alike. */
	message: LimitConfig | false;
}

/** Synapse's defaults (synapse/config/ratelimiting.py; the same in 1.67 and HEAD). */
export const SYNAPSE_DEFAULT_LIMITS: Readonly<InviteLimits> = Object.freeze({
	perRoom: { perSecond: 0.3, burst: 10 },
	perInvitee: { perSecond: 0.003, burst: 5 },
	perIssuer: { perSecond: 0.3, burst: 10 },
	message: { perSecond: 0.2, burst: 10 },
});

export function resolveLimits(partial: Partial<InviteLimits> = {}): InviteLimits {
	return { ...SYNAPSE_DEFAULT_LIMITS, ...partial };
}

export interface InviteWorkload {
	/** Invite requests still to make: one per (person, room) pair. */
	invites: number;
	/** How many rooms they go into (spread evenly), or the number of invites per room. Default 1. */
	rooms?: number | number[];
	/** The most rooms one person is invited into (default: the number of rooms). */
	perPerson?: number;
	/** Bot messages posted meanwhile (replies, progress notices): they share rc_message. */
	notices?: number;
	/** The homeserver's limits (default Synapse's). */
	limits?: Partial<InviteLimits>;
	/** The bot's limits are lifted (Synapse admin `override_ratelimit`): none of the above applies. */
	lifted?: boolean;
}

export type LimiterName = keyof InviteLimits;

/**
 * The shortest time the homeserver's limits allow for a workload, starting from empty buckets: each
 * limiter lets `burst` actions through at once and then one per 1/perSecond, so K actions on one
 * key take (K − burst)/perSecond; the slowest limiter decides. With Synapse's defaults that is
 * rc_message: 600 invites into 3 rooms take (1800 − 10)/0.2 s ≈ 2.5 hours. Request latency is
 * not included.
 */
export function inviteFloor(workload: InviteWorkload): {
	seconds: number;
	limiter: LimiterName | 'none';
} {
	const invites = Math.max(0, Math.ceil(workload.invites));
	if (workload.lifted || invites === 0) return { seconds: 0, limiter: 'none' };
	const limits = resolveLimits(workload.limits);
	const roomCount = Math.max(1, Math.ceil(Number(workload.rooms ?? 1)) || 1);
	// Spread evenly: the fullest room gets the rounding.
	const roomCounts = Array.isArray(workload.rooms)
		? workload.rooms.map((n) => Math.max(0, Math.ceil(n)))
		: Array.from({ length: roomCount }, (_, i) => Math.ceil((invites - i) / roomCount));
	const perPerson = Math.max(
		1,
		Math.ceil(workload.perPerson ?? Math.min(invites, Math.max(1, roomCounts.length))),
	);
	const takes = (limit: LimitConfig | false, actions: number) =>
		limit ? Math.max(0, actions - limit.burst) / limit.perSecond : 0;
	const candidates: Array<[LimiterName, number]> = [
		['message', takes(limits.message, invites + Math.max(0, workload.notices ?? 0))],
		['perIssuer', takes(limits.perIssuer, invites)],
		['perRoom', Math.max(0, ...roomCounts.map((n) => takes(limits.perRoom, n)))],
		['perInvitee', takes(limits.perInvitee, perPerson)],
	];
	const [limiter, seconds] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
	return seconds > 0 ? { seconds, limiter } : { seconds: 0, limiter: 'none' };
}

/** ETA for a batch, in seconds (see inviteFloor): what the planner tells organizers. */
export function estimateInviteSeconds(workload: InviteWorkload): number {
	return inviteFloor(workload).seconds;
}

/**
 * One Synapse bucket mirrored on our side as a GCRA schedule, which is the same leaky bucket:
 * after `burst` actions at once, one more per 1/perSecond. `tat` is when the bucket would be empty.
 */
/** Send a hair after the modelled slot: the server's float arithmetic must not see us early. */
const SLOT_MARGIN_MS = 2;
/** Where learning starts once a probe showed the server allows more than the model (AdaptivePacer's default). */
const LOOSER_RESTART_RATE = 10;
/** A 429 asking for less than this came from a bucket at its very edge: it tells nothing. */
const EDGE_WAIT_MS = 5;

export class LimitBucket {
	private tat = -Infinity;

	constructor(readonly config: LimitConfig) {}

	private get interval(): number {
		return 1000 / this.config.perSecond;
	}

	/**
	 * The earliest time, not before `now`, at which one more action fits: a hair after the exact
	 * moment, so the server's own floating-point arithmetic cannot see the action a token early.
	 */
	readyAt(now: number): number {
		const at = this.tat - (this.config.burst - 1) * this.interval;
		return at <= now ? now : at + SLOT_MARGIN_MS;
	}

	/** How many actions fit at `now` before the bucket is full. */
	room(now: number): number {
		const level = Math.max(0, (this.tat - now) / this.interval);
		return Math.max(0, this.config.burst - level);
	}

	charge(at: number): void {
		this.tat = Math.max(this.tat, at) + this.interval;
	}

	/** Takes one charge back (an action that was never sent, or that the server did not count). */
	uncharge(): void {
		this.tat -= this.interval;
	}

	/** The server said one more action fits only after `waitMs`: from now on the model agrees. */
	fullUntil(now: number, waitMs: number): void {
		this.tat = Math.max(this.tat, now + waitMs + (this.config.burst - 1) * this.interval);
	}
}

/** What the scheduler paces: an invite (all four limiters) or another membership event (rc_message). */
export type PacedAction = { kind: 'invite'; roomId: string; invitee: string } | { kind: 'event' };

export interface Ticket {
	action: PacedAction;
	at: number;
	/** Sent although the model said wait: finds out whether the server lets more through. */
	probe: boolean;
	/** How long the model would have made this action wait. */
	modelWaitMs: number;
}

/** A claim on an invite's own buckets (its room, its invitee), taken before it waits for the bot's. */
export interface KeyReservation {
	release(): void;
}

export type SchedulerMode = 'model' | 'learning' | 'unlimited';

export interface SchedulerOptions {
	/**
	 * What the homeserver allows: Synapse's defaults (the default) or other numbers, used as a
	 * belief that probes and 429s correct; 'learn' knows nothing and learns from 429s.
	 */
	limits?: Partial<InviteLimits> | 'learn';
	/** The bot's limits are lifted (admin override): only the server's own pushback paces it. */
	unlimited?: boolean;
	/** Replaces `limits.perInvitee` (false: do not track it), in every mode but unlimited. */
	perInvitee?: LimitConfig | false;
	/** The learning pacer (an instance shared between runs, or options for a fresh one). */
	pacer?: AdaptivePacer | PacerOptions;
	/** rc_message tokens per minute left unused for notices the bot posts meanwhile. */
	reserveMessagesPerMinute?: number;
	now?: () => number;
	sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A probe is only worth it when the model holds an action back longer than this. */
const PROBE_MIN_WAIT_MS = 1_000;
/** After a probe the server refused, wait this long for the next; doubled each time. */
const FIRST_PROBE_INTERVAL_MS = 60_000;
const MAX_PROBE_INTERVAL_MS = 600_000;
/** A 429 asking for longer than this is the invitee's own bucket (Synapse: ~333 s per token). */
export const INVITEE_LIMIT_THRESHOLD_MS = 60_000;
/** This many 429s the model did not expect, within SURPRISE_WINDOW_MS, and it gives way to learning. */
const SURPRISES_TO_LEARN = 3;
const SURPRISE_WINDOW_MS = 300_000;

/**
 * Paces a run's membership changes by the homeserver's known limiters (see InviteLimits): each
 * invite waits until its room's, its invitee's and the bot's buckets all have room, so at Synapse's
 * defaults it goes out when the server will take it and no token is spent on a request the server
 * must refuse. The model is a belief:
 * - when it holds the bot back, now and then (at once, then after 60 s, doubling) one invite is
 *   sent anyway as a probe; if the server takes it, its limits are looser and the run switches to
 *   learning (the AdaptivePacer's slow start); a probe's 429 confirms the model and costs no
 *   rc_message token;
 * - a 429 the model did not expect (the bot's notices or other runs used the bucket) corrects the
 *   model with the server's `retry_after_ms`; repeated surprises switch to learning as well.
 * A 429 is always taken to have cost the invite limiters checked before rc_message (Synapse keeps
 * those charges), so an invitee is never retried at once: the caller rotates to other people.
 */
export class InviteScheduler {
	mode: SchedulerMode;
	rateLimitedCount = 0;
	probes = 0;
	readonly limits: InviteLimits;
	private readonly now: () => number;
	private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
	private readonly message?: LimitBucket;
	private readonly issuer?: LimitBucket;
	private readonly rooms = new Map<string, LimitBucket>();
	private readonly invitees = new Map<string, LimitBucket>();
	private learner?: AdaptivePacer;
	private readonly learnerOptions?: AdaptivePacer | PacerOptions;
	private pausedUntil = -Infinity;
	private gate: Promise<void> = Promise.resolve();
	private nextProbeAt = -Infinity;
	private probeIntervalMs = FIRST_PROBE_INTERVAL_MS;
	/** Set while a probe is on its way: it is answered before the model plans another slot. */
	private probeAnswer?: { promise: Promise<void>; resolve: () => void };
	private surprises: number[] = [];
	private correctedAt = -Infinity;

	constructor(options: SchedulerOptions = {}) {
		this.now = options.now ?? (() => performance.now());
		this.sleep = options.sleep ?? sleepMs;
		this.learnerOptions = options.pacer;
		const limits = options.limits;
		const learn = limits === 'learn';
		this.limits = resolveLimits(limits === 'learn' ? {} : limits);
		if (options.perInvitee !== undefined) this.limits.perInvitee = options.perInvitee;
		if (options.unlimited) {
			this.mode = 'unlimited';
			this.learner = this.makeLearner({ initialRate: 20 });
			return;
		}
		if (learn) {
			this.mode = 'learning';
			this.learner = this.makeLearner({});
			return;
		}
		this.mode = 'model';
		const reserve = Math.max(0, options.reserveMessagesPerMinute ?? 0) / 60;
		if (this.limits.message)
			this.message = new LimitBucket({
				perSecond: Math.max(
					this.limits.message.perSecond / 10,
					this.limits.message.perSecond - reserve,
				),
				burst: this.limits.message.burst,
			});
		if (this.limits.perIssuer) this.issuer = new LimitBucket(this.limits.perIssuer);
	}

	/** A learner from the caller's pacer (instance or options); `forced` beats the caller's options. */
	private makeLearner(defaults: PacerOptions, forced: PacerOptions = {}): AdaptivePacer {
		if (this.learnerOptions instanceof AdaptivePacer) return this.learnerOptions;
		return new AdaptivePacer({
			now: this.now,
			sleep: this.sleep,
			...defaults,
			...(this.learnerOptions ?? {}),
			...forced,
		});
	}

	/** The pace the run works at: the model's rc_message rate, or what the learner has learned. */
	get rate(): number {
		if (this.mode === 'model') {
			const rates = [this.limits.message, this.limits.perIssuer]
				.filter((l): l is LimitConfig => !!l)
				.map((l) => l.perSecond);
			return rates.length ? Math.min(...rates) : Infinity;
		}
		return this.learner!.rate;
	}

	private bucket(map: Map<string, LimitBucket>, key: string, config: LimitConfig | false) {
		if (!config) return undefined;
		let bucket = map.get(key);
		if (!bucket) map.set(key, (bucket = new LimitBucket(config)));
		return bucket;
	}

	private inviteeBucket(invitee: string): LimitBucket | undefined {
		return this.mode === 'unlimited'
			? undefined
			: this.bucket(this.invitees, invitee, this.limits.perInvitee);
	}

	private roomBucket(roomId: string): LimitBucket | undefined {
		return this.mode === 'model' ? this.bucket(this.rooms, roomId, this.limits.perRoom) : undefined;
	}

	/** When the invitee's own bucket (Synapse: 5, then one per ~5.5 min) lets one more invite go. */
	inviteeReadyAt(invitee: string, now = this.now()): number {
		return this.inviteeBucket(invitee)?.readyAt(now) ?? now;
	}

	/** When the action's own buckets (its room and its invitee) let it go; not before `now`. */
	keyReadyAt(action: PacedAction, now = this.now()): number {
		if (action.kind !== 'invite') return now;
		return Math.max(
			this.inviteeReadyAt(action.invitee, now),
			this.roomBucket(action.roomId)?.readyAt(now) ?? now,
		);
	}

	/** Charges the action's room and invitee now, so concurrent workers see them taken. */
	reserveKeys(action: PacedAction): KeyReservation {
		if (action.kind !== 'invite') return { release: () => undefined };
		const now = this.now();
		const taken = [this.roomBucket(action.roomId), this.inviteeBucket(action.invitee)].filter(
			(b): b is LimitBucket => !!b,
		);
		for (const bucket of taken) bucket.charge(now);
		let released = false;
		return {
			release: () => {
				if (released) return;
				released = true;
				for (const bucket of taken) bucket.uncharge();
			},
		};
	}

	private probeAnswered(): void {
		this.probeAnswer?.resolve();
		this.probeAnswer = undefined;
	}

	/** One acquirer at a time decides on a slot and charges it: concurrent workers never share one. */
	private async lock(): Promise<() => void> {
		let release!: () => void;
		const previous = this.gate;
		this.gate = new Promise<void>((resolve) => (release = resolve));
		await previous;
		return release;
	}

	private botReadyAt(action: PacedAction, now: number): number {
		let at = Math.max(now, this.pausedUntil);
		if (this.message) at = Math.max(at, this.message.readyAt(now));
		if (action.kind === 'invite' && this.issuer) at = Math.max(at, this.issuer.readyAt(now));
		return at;
	}

	private probeDue(action: PacedAction, now: number): boolean {
		if (this.probeAnswer || now < this.nextProbeAt || this.pausedUntil > now) return false;
		// A probe the server refuses still costs its invitee a token: only for someone with tokens to spare.
		if (action.kind === 'invite') {
			const invitee = this.inviteeBucket(action.invitee);
			if (invitee && invitee.room(now) < 1) return false;
		}
		return true;
	}

	/**
	 * Waits until the action may be sent and charges the bot's buckets. Resolves false, without
	 * waiting, when that is past `deadline` or the run was aborted.
	 */
	async acquire(
		action: PacedAction,
		deadline = Infinity,
		signal?: AbortSignal,
	): Promise<Ticket | false> {
		if (this.mode === 'model') {
			const release = await this.lock();
			try {
				while (this.mode === 'model') {
					if (signal?.aborted) return false;
					// A probe on its way may take the very token the next slot counts on (a slow
					// request that reaches the server after its token came): plan after its answer.
					if (this.probeAnswer) {
						await this.probeAnswer.promise;
						continue;
					}
					const now = this.now();
					const at = this.botReadyAt(action, now);
					const wait = at - now;
					if (wait > PROBE_MIN_WAIT_MS && this.probeDue(action, now)) {
						this.probes++;
						let resolve!: () => void;
						const promise = new Promise<void>((r) => (resolve = r));
						this.probeAnswer = { promise, resolve };
						if (action.kind === 'invite') this.issuer?.charge(now);
						return { action, at: now, probe: true, modelWaitMs: wait };
					}
					if (at > deadline) return false;
					if (wait <= 0) {
						this.message?.charge(now);
						if (action.kind === 'invite') this.issuer?.charge(now);
						return { action, at: now, probe: false, modelWaitMs: 0 };
					}
					// Re-evaluated after the sleep: a 429 meanwhile may have moved the slot.
					await this.sleep(wait, signal);
				}
			} finally {
				release();
			}
		}
		if (!(await this.learner!.acquire(deadline, signal))) return false;
		return { action, at: this.now(), probe: false, modelWaitMs: 0 };
	}

	succeeded(ticket: Ticket): void {
		if (this.mode === 'model') {
			if (!ticket.probe) return;
			this.probeAnswered();
			const now = this.now();
			if (now < ticket.at + ticket.modelWaitMs) {
				// The server took what the model would have held back: its limits are looser.
				this.switchToLearning(false);
				return;
			}
			// Answered only after the model's token was due (a slow request): it proves nothing, but
			// the server counted it, so the model does too.
			this.message?.charge(now);
			this.nextProbeAt = now + this.probeIntervalMs;
			return;
		}
		this.learner!.onSuccess();
	}

	/**
	 * The server answered 429 and asked for `waitMs` (−1: it did not say). Returns when this action
	 * may be tried again, and whether the invitee's own bucket is what refused it.
	 */
	rateLimited(
		ticket: Ticket,
		waitMs: number,
		precise = true,
	): { retryAt: number; inviteeLimited: boolean } {
		this.rateLimitedCount++;
		const now = this.now();
		const informed = waitMs >= 0;
		const wait = informed ? waitMs : 1000;
		const invite = ticket.action.kind === 'invite' ? ticket.action : undefined;
		if (invite && informed && wait > INVITEE_LIMIT_THRESHOLD_MS) {
			// Only the per-invitee limiter asks for minutes. It refused before per-issuer and
			// rc_message were reached: those charges are taken back, the invitee waits.
			this.inviteeBucket(invite.invitee)?.fullUntil(now, wait);
			if (this.mode === 'model') {
				if (!ticket.probe) this.message?.uncharge();
				this.issuer?.uncharge();
				if (ticket.probe) this.probeAnswered();
			}
			return { retryAt: now + wait, inviteeLimited: true };
		}
		this.pausedUntil = Math.max(this.pausedUntil, now + wait);
		if (this.mode !== 'model') {
			this.learner!.onRateLimited(wait, precise, informed);
			return { retryAt: now + wait, inviteeLimited: false };
		}
		// rc_message comes last and did not count a refused request; the invite limiters before it
		// may have, and stay charged.
		if (!ticket.probe) this.message?.uncharge();
		if (ticket.probe) {
			this.probeAnswered();
			// Refused at the very edge of some bucket: no verdict on the model; the next block probes again.
			if (informed && wait < EDGE_WAIT_MS) return { retryAt: now + wait, inviteeLimited: false };
			// When does the server expect a token, and when did the model? Both as of the answer: the
			// request spent time on the way, so the server's wait is shorter by that much.
			const serverAt = now + wait;
			const modelAt = ticket.at + ticket.modelWaitMs;
			if (informed && precise && serverAt < modelAt - ticket.modelWaitMs / 2) {
				// Refused, but the server's bucket refills much sooner than the model's: looser limits.
				this.switchToLearning(false, wait, precise);
				return { retryAt: now + wait, inviteeLimited: false };
			}
			this.message?.fullUntil(now, wait);
			this.nextProbeAt = now + this.probeIntervalMs;
			this.probeIntervalMs = Math.min(MAX_PROBE_INTERVAL_MS, this.probeIntervalMs * 2);
			return { retryAt: now + wait, inviteeLimited: false };
		}
		// The model said there was room: the bot's notices or another run used the bucket, or the
		// server is stricter. Believe the server (it also answers what a probe would ask, so the
		// next one waits); if that keeps happening, learn instead. Requests sent before the last
		// correction bounce off the same full bucket: that is one surprise, not several.
		this.message?.fullUntil(now, wait);
		this.nextProbeAt = Math.max(this.nextProbeAt, now + this.probeIntervalMs);
		if (ticket.at >= this.correctedAt) {
			this.surprises = [...this.surprises.filter((t) => now - t < SURPRISE_WINDOW_MS), now];
			this.correctedAt = now;
		}
		if (this.surprises.length >= SURPRISES_TO_LEARN) this.switchToLearning(true, wait, precise);
		return { retryAt: now + wait, inviteeLimited: false };
	}

	/**
	 * The server refused the action before rc_message (event auth: already joined, banned, no
	 * power…): the rc_message token is given back; the invite limiters checked earlier keep theirs.
	 */
	refusedBeforeMessage(ticket: Ticket): void {
		if (this.mode === 'model' && !ticket.probe) this.message?.uncharge();
		if (ticket.probe) this.probeAnswered();
	}

	/** No answer or a server error: nothing to learn, and whatever was charged stays charged. */
	failed(ticket: Ticket): void {
		if (this.mode === 'model' && ticket.probe) {
			this.probeAnswered();
			this.nextProbeAt = this.now() + this.probeIntervalMs;
		}
	}

	/** A message the bot posted outside this run (a progress notice): it used an rc_message token. */
	noteMessageSent(): void {
		this.message?.charge(this.now());
	}

	private switchToLearning(stricter: boolean, waitMs?: number, precise = true): void {
		const start = this.rate;
		this.mode = 'learning';
		// Looser: start above the model's pace and let slow start find the server's; stricter:
		// start at it, already pushed back, and let the next 429s cut it.
		this.learner = this.makeLearner(
			{},
			{
				initialRate: stricter ? start : Math.max(start * 2, LOOSER_RESTART_RATE),
				startLimited: stricter,
			},
		);
		if (waitMs === undefined) return;
		if (stricter) this.learner.onRateLimited(waitMs, precise, true);
		else this.learner.pauseFor(waitMs);
	}
}
