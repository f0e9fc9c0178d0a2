/**
 * The measure: 10,000 claims in one execution finish in under 1 s on the embedded
 * backend and under 2 s on PostgreSQL and Redis. Prints claims per second.
 */
import { Ledger, type LedgerBackend } from '../../../lib/store';
import { STORES, type TestStore } from './backends';

const TARGET_MS = { embedded: 1000, postgres: 2000, redis: 2000 } as const;

describe.each(STORES)('performance: %s', (kind, makeStore) => {
	let store: TestStore;
	let backend: LedgerBackend;
	beforeEach(async () => {
		store = makeStore();
		backend = store.create();
		await backend.init();
	});
	afterEach(async () => {
		await backend.close();
		await store.cleanup();
	});

	test('10,000 claims in one call, then the same 10,000 seen, then completed', async () => {
		const ledger = new Ledger(backend, { secret: 'bench-secret-0123456789', retentionDays: 30 });
		const entries = Array.from({ length: 10_000 }, (_, i) => ({
			event: 'bench',
			scope: '!room:example.org',
			subject: String(100_000 + i),
			matrixId: `@user${i}:example.org`,
			orderCode: `O${i}`,
		}));

		let started = performance.now();
		const claimed = await ledger.claim(entries);
		const claimMs = performance.now() - started;
		expect(claimed.every((r) => r.status === 'new')).toBe(true);

		started = performance.now();
		const seen = await ledger.claim(entries);
		const seenMs = performance.now() - started;
		expect(seen.every((r) => r.status === 'leased')).toBe(true);

		started = performance.now();
		expect(await ledger.complete(entries, 'invited')).toBe(10_000);
		const completeMs = performance.now() - started;

		const rate = (ms: number) => Math.round(10_000 / (ms / 1000));
		process.stdout.write(
			`[ledger bench] ${kind}: claim 10k new ${claimMs.toFixed(0)} ms (${rate(claimMs)}/s), ` +
				`10k seen ${seenMs.toFixed(0)} ms (${rate(seenMs)}/s), complete 10k ${completeMs.toFixed(0)} ms (${rate(completeMs)}/s)\n`,
		);
		expect(claimMs).toBeLessThan(TARGET_MS[kind]);
		expect(seenMs).toBeLessThan(TARGET_MS[kind]);
		expect(await ledger.stats('bench')).toMatchObject({
			seen: 10_000,
			invited: 10_000,
			pending: 0,
		});
	}, 60_000);
});
