import { sleepMs } from '../../../lib/http/retry';

/**
 * The homeserver's sense of time: its rate limiters, transaction-ID expiry, Synapse's pause before
 * a 429 and the delay before an unreachable server's 502 all read it. A client that shares it
 * (`now` and `sleep` into the invite engine) sees the same time as the server.
 */
export interface FakeClock {
	/** Milliseconds, monotonic. */
	now(): number;
	sleep(ms: number, signal?: AbortSignal): Promise<void>;
	/** How much faster than real time this clock runs (1 = real time). */
	readonly timeScale: number;
}

export const realClock: FakeClock = {
	now: () => performance.now(),
	sleep: sleepMs,
	timeScale: 1,
};

/**
 * A clock running `timeScale` times faster than real time: at 100, Synapse's 0.2 actions/s become
 * 20 real actions/s and a 5.5-minute per-invitee wait lasts 3.3 real seconds. Request latency is
 * real, so it counts `timeScale` times more in this clock's terms: keep the scale small enough
 * that a request's real latency stays far below a limiter's token period.
 */
export function scaledClock(timeScale: number): FakeClock {
	if (!(timeScale > 0) || !Number.isFinite(timeScale))
		throw new Error('fake homeserver: timeScale must be a positive number');
	const realStart = performance.now();
	return {
		now: () => realStart + (performance.now() - realStart) * timeScale,
		sleep: (ms, signal) => sleepMs(ms / timeScale, signal),
		timeScale,
	};
}

/** A clock that moves only when told (`advance`), for tests of expiry rules. */
export function manualClock(start = 0): FakeClock & { advance(ms: number): void } {
	let now = start;
	return {
		now: () => now,
		sleep: async (ms) => {
			now += Math.max(0, ms);
		},
		advance: (ms) => {
			now += ms;
		},
		timeScale: 1,
	};
}

/**
 * Virtual time for code that only waits through this clock's `sleep` (no sockets): `run(work)`
 * resolves sleeps in time order, jumping the clock, so hours of rate-limited work take
 * milliseconds. Everything run this way must talk through in-memory transports.
 */
export class VirtualClock implements FakeClock {
	readonly timeScale = 1;
	private clock = 0;
	private timers: Array<{ at: number; seq: number; resolve: () => void }> = [];
	private seq = 0;
	now = (): number => this.clock;
	sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
		new Promise<void>((resolve) => {
			if (signal?.aborted) return resolve();
			this.timers.push({ at: this.clock + Math.max(0, ms), seq: this.seq++, resolve });
		});
	async run<T>(work: Promise<T>): Promise<T> {
		let finished = false;
		void work.finally(() => (finished = true)).catch(() => undefined);
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
