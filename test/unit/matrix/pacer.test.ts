import { AdaptivePacer, UNINFORMED_FLOOR } from '../../../lib/matrix/pacer';
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
		for (let done = 0; done < invites; ) {
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
