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
		expect(run.limited).toBeLessThanOrEqual(4);
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
		expect(await cut(1000, true)).toBeCloseTo((1000 / 1050) * 0.95, 5);
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
