import { FakeHomeserver, type FakeHomeserverOptions } from './server';

export { FakeHomeserver, isValidServerName } from './server';
export type {
	FakeHomeserverOptions,
	FaultOptions,
	DownMode,
	MatrixEvent,
	RequestLogEntry,
} from './server';
export { SYNAPSE_RATE_LIMITS, RateLimiter } from './rate-limit';
export type { RateLimitConfig, RateLimitName, RateLimitOptions } from './rate-limit';
export { manualClock, realClock, scaledClock, type FakeClock } from './clock';
export type { TransactionScope } from './transactions';

/** Starts a fake homeserver on 127.0.0.1 (random port). `url` is its base URL; call `stop()` when done. */
export async function startFakeHomeserver(
	options: FakeHomeserverOptions = {},
): Promise<FakeHomeserver> {
	return new FakeHomeserver(options).start();
}
