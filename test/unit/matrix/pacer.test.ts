import {
	AdaptivePacer,
	estimateInviteSeconds,
	inviteFloor,
	InviteScheduler,
	LimitBucket,
	SYNAPSE_DEFAULT_LIMITS,
	UNINFORMED_FLOOR,
	type PacedAction,
} from '../../../lib/matrix/pacer';
import { SYNAPSE_RATE_LIMITS } from '../../fakes/matrix';
import { VirtualClock } from '../../fakes/matrix/clock';
import { RateLimiter } from '../../fakes/matrix/rate-limit';

/**
 * Simulates a sequential inviter against a Synapse-style leaky bucket in virtual time, so the
 * learning behaviour is checked for thousands of invites in milliseconds of real time.
 */
function simulate(options: {
	perSecond: number;
	burst: number;
	count: number;
	latencyMs?: number;
	initialRate?: number;
}) {
	let clock = 0;
	const now = () => clock;
	const sleep = async (ms: number) => {
		clock += ms;
	};
	const server = new RateLimiter({ perSecond: options.perSecond, burst: options.burst }, now);
	const pacer = new AdaptivePacer({ now, sleep, initialRate: options.initialRate });
	let done = 0;
	let limited = 0;
	return (async () => {
		while (done < options.count) {
			await pacer.acquire();
			clock += options.latencyMs ?? 5;
			const wait = server.take('bot');
			if (wait === undefined) {
				done++;
				pacer.onSuccess();
			} else {
				limited++;
				pacer.onRateLimited(wait);
			}
		}
		return { seconds: clock / 1000, limited, rate: pacer.rate };
	})();
}

/** Virtual time for several concurrent clients: sleeps resolve in time order, without waiting. */
class VirtualTime {
	clock = 0;
	private timers: Array<{ at: number; seq: number; resolve: () => void }> = [];
	private seq = 0;
	now = () => this.clock;
	sleep = (ms: number) =>
		new Promise<void>((resolve) => {
			this.timers.push({ at: this.clock + Math.max(0, ms), seq: this.seq++, resolve });
		});
	async run<T>(work: Promise<T>): Promise<T> {
		let finished = false;
		void work.finally(() => (finished = true));
		while (!finished) {
			await new Promise((r) => setImmediate(r));
			if (finished) break;
			this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
			const next = this.timers.shift();
			if (!next) throw new Error('deadlock: nobody waits for time');
			this.clock = Math.max(this.clock, next.at);
			next.resolve();
		}
		return work;
	}
}

/**
 * A batch of 100 invites and 100 single-invite runs (one webhook each, every 50 ms) share one bot's
 * bucket (8/s, burst 8), which a storm squeezes to 2/s burst 1 from 1 s to 5 s. Returns each run's
 * duration in seconds: the batch's first.
 */
async function stormWithConcurrentRuns() {
	const time = new VirtualTime();
	const server = new RateLimiter({ perSecond: 8, burst: 8 }, time.now);
	const run = async (startMs: number, invites: number) => {
		await time.sleep(startMs);
		const pacer = new AdaptivePacer({ now: time.now, sleep: time.sleep });
		for (let done = 0; done < invites;) {
			await pacer.acquire();
			await time.sleep(5);
			const wait = server.take('bot');
			if (wait === undefined) {
				done++;
				pacer.onSuccess();
			} else pacer.onRateLimited(wait);
		}
		return (time.clock - startMs) / 1000;
	};
	const storm = async () => {
		await time.sleep(1000);
		server.config = { perSecond: 2, burst: 1 };
		await time.sleep(4000);
		server.config = { perSecond: 8, burst: 8 };
		return 0;
	};
	const runs = [run(0, 100), ...Array.from({ length: 100 }, (_, i) => run(50 * i, 1))];
	const durations = await time.run(Promise.all([...runs, storm()]));
	return { batch: durations[0], single: durations.slice(1, 101), floor: 200 / 8 };
}

describe('AdaptivePacer (virtual time against a leaky bucket)', () => {
	test('2,000 invites at 10/s burst 10: within 1.15x of the floor, under 5% answered 429', async () => {
		const floor = 2000 / 10;
		const run = await simulate({ perSecond: 10, burst: 10, count: 2000 });
		expect(run.seconds).toBeLessThanOrEqual(floor * 1.15);
		expect(run.limited / 2000).toBeLessThan(0.05);
		expect(run.rate).toBeGreaterThan(8);
		expect(run.rate).toBeLessThan(12);
	});

	test('learns Synapse defaults (0.3/s burst 10) within a few 429s', async () => {
		const run = await simulate({ perSecond: 0.3, burst: 10, count: 40 });
		// One 429 cuts the pace to a quarter at most, so learning 0.3/s from ~15/s takes three cuts.
		expect(run.limited).toBeLessThanOrEqual(8);
		expect(run.seconds).toBeLessThanOrEqual(((40 - 10) / 0.3) * 1.15);
	});

	test('ramps up on a fast server (slow start) instead of crawling at the initial pace', async () => {
		const run = await simulate({
			perSecond: 100,
			burst: 10,
			count: 2000,
			latencyMs: 1,
			initialRate: 5,
		});
		expect(run.seconds).toBeLessThan((2000 / 100) * 1.3);
		expect(run.limited / 2000).toBeLessThan(0.05);
	});

	test('a whole-second Retry-After (no body) may at most halve the pace per 429', async () => {
		const cut = async (retryAfterMs: number, precise: boolean) => {
			let clock = 0;
			const pacer = new AdaptivePacer({
				now: () => clock,
				sleep: async (ms) => void (clock += ms),
				initialRate: 10,
			});
			await pacer.acquire();
			pacer.onSuccess();
			clock += 50;
			pacer.onRateLimited(retryAfterMs, precise);
			return pacer.rate;
		};
		// Precise: the tight estimate 1000 / (100 + 50) ms ≈ 6.67/s, paced at 95 %.
		expect(await cut(100, true)).toBeCloseTo((1000 / 150) * 0.95, 5);
		// Header only (rounded up to 1 s): the estimate ~0.95/s would be far too low; halve instead.
		expect(await cut(1000, false)).toBeCloseTo(10 * 0.5 * 0.95, 5);
		// Precise and tight, but one answer cuts to a quarter at most (the estimate ~0.95/s would be lower).
		expect(await cut(1000, true)).toBeCloseTo(10 * 0.25 * 0.95, 5);
		expect(await cut(200, true)).toBeCloseTo((1000 / 250) * 0.95, 5);
	});

	test('storms of 429s that name no delay never starve the run below the floor', async () => {
		let clock = 0;
		const pacer = new AdaptivePacer({
			now: () => clock,
			sleep: async (ms) => void (clock += ms),
			initialRate: 10,
		});
		for (let storm = 0; storm < 50; storm++) {
			await pacer.acquire();
			pacer.onSuccess();
			clock += 10;
			// No Retry-After, no retry_after_ms: the wait is our own backoff.
			pacer.onRateLimited(1000, false, false);
			clock += 1000;
		}
		expect(pacer.rate).toBeGreaterThanOrEqual(UNINFORMED_FLOOR);
		// A server that does name its delays may still be followed below that floor (Synapse: 0.3/s).
		pacer.onSuccess();
		clock += 10;
		pacer.onRateLimited(3323, true, true);
		expect(pacer.rate).toBeLessThan(UNINFORMED_FLOOR);
		expect(pacer.rate).toBeCloseTo((1000 / 3333) * 0.95, 2);
	});

	test('a storm shared with 100 other runs (each with its own pacer) slows no run for minutes', async () => {
		// Before: each 429 without a recent success halved the pace, so single-invite runs waited
		// 0.1, 0.2, 0.4 … s between tries (up to 355 s here) and the batch crawled on for 460 s.
		const { batch, single, floor } = await stormWithConcurrentRuns();
		expect(Math.max(...single)).toBeLessThan(floor * 1.5);
		expect(batch).toBeLessThan(floor * 4);
	});

	test('recovers its pace within seconds once a storm is over', async () => {
		const time = new VirtualTime();
		const server = new RateLimiter({ perSecond: 10, burst: 10 }, time.now);
		const pacer = new AdaptivePacer({ now: time.now, sleep: time.sleep });
		const rateAt: Array<[number, number]> = [];
		const work = (async () => {
			while (time.clock < 60_000) {
				if (time.clock >= 10_000 && time.clock < 14_000) server.config = { perSecond: 2, burst: 1 };
				else server.config = { perSecond: 10, burst: 10 };
				await pacer.acquire();
				await time.sleep(5);
				const wait = server.take('bot');
				if (wait === undefined) pacer.onSuccess();
				else pacer.onRateLimited(wait);
				rateAt.push([time.clock, pacer.rate]);
			}
		})();
		await time.run(work);
		const during = rateAt.filter(([t]) => t > 12_000 && t < 14_000).map(([, r]) => r);
		const after = rateAt.filter(([t]) => t > 40_000).map(([, r]) => r);
		expect(Math.max(...during)).toBeLessThan(3);
		expect(Math.min(...after)).toBeGreaterThan(8);
	});

	test('a deadline that cannot be met is refused without sleeping', async () => {
		let clock = 0;
		const pacer = new AdaptivePacer({
			now: () => clock,
			sleep: async (ms) => void (clock += ms),
			initialRate: 1,
		});
		expect(await pacer.acquire(10_000)).toBe(true);
		pacer.onRateLimited(60_000);
		const before = clock;
		expect(await pacer.acquire(clock + 5_000)).toBe(false);
		expect(clock).toBe(before);
	});
});

describe("Synapse's limits on our side", () => {
	test("the engine's defaults are the fake homeserver's (= synapse/config/ratelimiting.py)", () => {
		expect(SYNAPSE_DEFAULT_LIMITS).toEqual({
			perRoom: SYNAPSE_RATE_LIMITS.invitesPerRoom,
			perInvitee: SYNAPSE_RATE_LIMITS.invitesPerUser,
			perIssuer: SYNAPSE_RATE_LIMITS.invitesPerIssuer,
			message: SYNAPSE_RATE_LIMITS.message,
		});
	});

	test("LimitBucket admits exactly what Synapse's Ratelimiter admits (random arrivals)", () => {
		let seed = 7;
		const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
		for (const config of [
			{ perSecond: 0.2, burst: 10 },
			{ perSecond: 0.003, burst: 5 },
			{ perSecond: 3, burst: 1 },
		]) {
			let now = 0;
			const synapse = new RateLimiter(config, () => now);
			const ours = new LimitBucket(config);
			for (let i = 0; i < 400; i++) {
				now += random() * (2000 / config.perSecond) * (random() < 0.7 ? 0.1 : 1);
				const ready = ours.readyAt(now) <= now;
				if (ready) {
					// What we send, Synapse admits.
					expect(synapse.check('k').allowed).toBe(true);
					ours.charge(now);
				} else if (ours.readyAt(now) - now > 3) {
					// What we hold back (beyond our 2 ms margin), Synapse would refuse.
					expect(synapse.check('k', false).allowed).toBe(false);
				}
			}
		}
	});

	test('inviteFloor / estimateInviteSeconds: the slowest limiter decides', () => {
		// The figures: 40 into one room 150 s, 40 people into two rooms 350 s (rc_message).
		expect(inviteFloor({ invites: 40 })).toEqual({ seconds: 150, limiter: 'message' });
		expect(estimateInviteSeconds({ invites: 80, rooms: 2 })).toBe(350);
		expect(estimateInviteSeconds({ invites: 600 })).toBe(2950);
		expect(estimateInviteSeconds({ invites: 1800, rooms: 3 })).toBe(8950);
		// Notices posted meanwhile take rc_message tokens too.
		expect(estimateInviteSeconds({ invites: 600, notices: 20 })).toBe(3050);
		// One person into 7 rooms: their own bucket (5, then one per 333 s).
		expect(inviteFloor({ invites: 7, rooms: 7, perPerson: 7 })).toEqual({
			seconds: 2 / 0.003,
			limiter: 'perInvitee',
		});
		// Without rc_message, the invite limiters: 0.3/s per issuer and per room.
		expect(inviteFloor({ invites: 310, limits: { message: false } }).seconds).toBeCloseTo(1000, 6);
		expect(
			inviteFloor({ invites: 310, rooms: [300, 10], limits: { message: false, perIssuer: false } }),
		).toEqual({ seconds: (300 - 10) / 0.3, limiter: 'perRoom' });
		// Within the bursts, or with the bot's limits lifted: no wait at all.
		expect(inviteFloor({ invites: 10 })).toEqual({ seconds: 0, limiter: 'none' });
		expect(estimateInviteSeconds({ invites: 1800, rooms: 3, lifted: true })).toBe(0);
	});
});

describe('InviteScheduler (virtual time)', () => {
	const invite = (n: number, roomId = '!r'): PacedAction => ({
		kind: 'invite',
		roomId,
		invitee: `@p${n}:x`,
	});

	test("at Synapse's defaults: ten at once, then what rc_message allows; probes at the first block, then after 60 s, 120 s, 240 s…", async () => {
		const clock = new VirtualClock();
		const scheduler = new InviteScheduler({ now: clock.now, sleep: clock.sleep });
		const sent: Array<[number, boolean]> = [];
		await clock.run(
			(async () => {
				for (let n = 0; sent.filter(([, probe]) => !probe).length < 100; n++) {
					const keys = scheduler.reserveKeys(invite(n));
					const ticket = await scheduler.acquire(invite(n));
					if (!ticket) throw new Error('no deadline was set');
					sent.push([clock.now(), ticket.probe]);
					if (ticket.probe) {
						keys.release();
						// Synapse at its defaults refuses the probe: rc_message has a token in `modelWaitMs`.
						scheduler.rateLimited(ticket, ticket.modelWaitMs);
					} else scheduler.succeeded(ticket);
				}
			})(),
		);
		const regular = sent.filter(([, probe]) => !probe).map(([at]) => at);
		expect(regular.slice(0, 10)).toEqual(Array(10).fill(0));
		// Replayed through Synapse's own limiters in Synapse's order: every regular invite passes
		// the issuer limiter and rc_message; every probe is refused by one of them.
		let now = 0;
		const message = new RateLimiter(SYNAPSE_RATE_LIMITS.message, () => now);
		const issuer = new RateLimiter(SYNAPSE_RATE_LIMITS.invitesPerIssuer, () => now);
		for (const [at, probe] of sent) {
			now = at;
			const passed = issuer.take('bot') === undefined && message.take('bot') === undefined;
			expect(passed).toBe(!probe);
		}
		// 100 invites take (100 − 10) / 0.2 s; the refused probes cost a few issuer tokens only.
		expect(regular[99] / 1000).toBeGreaterThanOrEqual(450);
		expect(regular[99] / 1000).toBeLessThan(450 * 1.01);
		const probes = sent.filter(([, probe]) => probe).map(([at]) => Math.round(at / 1000));
		expect(probes.length).toBe(4);
		expect(probes[1] - probes[0]).toBeGreaterThanOrEqual(60);
		expect(probes[2] - probes[1]).toBeGreaterThanOrEqual(120);
		expect(probes[3] - probes[2]).toBeGreaterThanOrEqual(240);
		expect(scheduler.mode).toBe('model');
	});

	test("a probe the server takes switches to learning; a 429 at a bucket's very edge decides nothing", async () => {
		const clock = new VirtualClock();
		const scheduler = new InviteScheduler({ now: clock.now, sleep: clock.sleep });
		await clock.run(
			(async () => {
				for (let n = 0; n < 10; n++)
					scheduler.succeeded((await scheduler.acquire(invite(n))) as never);
				const edge = await scheduler.acquire(invite(10));
				expect(edge && edge.probe).toBe(true);
				scheduler.rateLimited(edge as never, 0);
				expect(scheduler.mode).toBe('model');
				const probe = await scheduler.acquire(invite(11));
				expect(probe && probe.probe).toBe(true);
				scheduler.succeeded(probe as never);
			})(),
		);
		expect(scheduler.mode).toBe('learning');
		expect(scheduler.rate).toBeGreaterThanOrEqual(10);
	});

	test("a probe's 429 is read as of its arrival: latency does not make Synapse look looser than the model", async () => {
		const clock = new VirtualClock();
		const scheduler = new InviteScheduler({ now: clock.now, sleep: clock.sleep });
		await clock.run(
			(async () => {
				for (let n = 0; n < 10; n++)
					scheduler.succeeded((await scheduler.acquire({ kind: 'event' })) as never);
				await clock.sleep(3_333);
				const probe = await scheduler.acquire({ kind: 'event' });
				expect(probe && probe.probe).toBe(true);
				// 900 ms on the way: the server's token is 767 ms off when it answers — the model's time.
				await clock.sleep(900);
				scheduler.rateLimited(probe as never, 5_000 - 3_333 - 900);
			})(),
		);
		expect(scheduler.mode).toBe('model');
	});

	test("a probe answered 200 only after the model's token was due proves nothing: counted as an ordinary invite", async () => {
		const clock = new VirtualClock();
		const scheduler = new InviteScheduler({ now: clock.now, sleep: clock.sleep });
		await clock.run(
			(async () => {
				for (let n = 0; n < 10; n++)
					scheduler.succeeded((await scheduler.acquire({ kind: 'event' })) as never);
				const probe = await scheduler.acquire({ kind: 'event' });
				expect(probe && probe.probe).toBe(true);
				await clock.sleep(6_000);
				scheduler.succeeded(probe as never);
				expect(scheduler.mode).toBe('model');
				// The server counted it: the next slot is one token period later, not at once.
				const next = await scheduler.acquire({ kind: 'event' });
				expect(next && next.probe).toBe(false);
				expect(clock.now()).toBeGreaterThanOrEqual(10_000);
			})(),
		);
	});

	test('rc_message reserved for notices: the invites leave that share of the bucket unused', async () => {
		const clock = new VirtualClock();
		// 3 of Synapse's 12 rc_message tokens a minute are left for notices.
		const scheduler = new InviteScheduler({
			now: clock.now,
			sleep: clock.sleep,
			reserveMessagesPerMinute: 3,
		});
		const times: number[] = [];
		await clock.run(
			(async () => {
				for (let n = 0; n < 30; n++) {
					const ticket = await scheduler.acquire({ kind: 'event' });
					if (!ticket) throw new Error('no deadline was set');
					if (ticket.probe) scheduler.rateLimited(ticket, ticket.modelWaitMs);
					else {
						times.push(clock.now());
						scheduler.succeeded(ticket);
					}
				}
			})(),
		);
		const steady = times.slice(10);
		const perSecond = (steady.length - 1) / ((steady[steady.length - 1] - steady[0]) / 1000);
		expect(perSecond).toBeCloseTo(0.2 - 3 / 60, 2);
	});

	test('a notice posted outside the run (noteMessageSent) takes its rc_message token from the invites', async () => {
		let now = 0;
		const scheduler = new InviteScheduler({ now: () => now, limits: { perIssuer: false } });
		for (let i = 0; i < 9; i++) await scheduler.acquire({ kind: 'event' });
		scheduler.noteMessageSent();
		// Ten events in the bucket: the next one waits for a token (1 / 0.2 s), or is probed.
		const next = await scheduler.acquire({ kind: 'event' });
		expect(next && next.probe).toBe(true);
		expect(next && next.modelWaitMs).toBeCloseTo(5000, -1);
	});

	test('a deadline the model cannot meet is refused without sleeping', async () => {
		const clock = new VirtualClock();
		const scheduler = new InviteScheduler({
			now: clock.now,
			sleep: clock.sleep,
			limits: { perIssuer: false, perRoom: false },
		});
		await clock.run(
			(async () => {
				for (let n = 0; n < 10; n++) await scheduler.acquire({ kind: 'event' }, 1_000);
				// The first block would be probed; a refused probe confirms the model.
				const probe = await scheduler.acquire({ kind: 'event' }, 1_000);
				scheduler.rateLimited(probe as never, 5_000);
				expect(await scheduler.acquire({ kind: 'event' }, 1_000)).toBe(false);
			})(),
		);
		expect(clock.now()).toBe(0);
	});

	test("the invitee's own bucket: five invites, then one per 333 s; a long 429 sets it from the server's answer", () => {
		let now = 0;
		const scheduler = new InviteScheduler({ now: () => now });
		for (let room = 0; room < 5; room++) scheduler.reserveKeys(invite(1, `!room${room}`));
		expect(scheduler.keyReadyAt(invite(1, '!room5'))).toBeCloseTo(1000 / 0.003 + 2, 0);
		expect(scheduler.keyReadyAt(invite(2, '!room5'))).toBe(0);
		now = 1000;
		const { retryAt, inviteeLimited } = scheduler.rateLimited(
			{ action: invite(2), at: now, probe: false, modelWaitMs: 0 },
			200_000,
		);
		expect([retryAt, inviteeLimited]).toEqual([201_000, true]);
		expect(scheduler.inviteeReadyAt('@p2:x')).toBeGreaterThanOrEqual(201_000);
		// …and it held back nobody else.
		expect(scheduler.keyReadyAt(invite(3))).toBe(now);
	});
});
