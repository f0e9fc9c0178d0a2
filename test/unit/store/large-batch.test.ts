/**
 * A batch of the size the issue measures (10,000 claims in one execution) is handled correctly by
 * every backend. How fast is a benchmark's question: `npm run bench` prints claims per second.
 */
import { Ledger, type LedgerBackend } from '../../../lib/store';
import { STORES, type TestStore } from './backends';

describe.each(STORES)('large batch: %s', (_kind, makeStore) => {
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
		const ledger = new Ledger(backend, { secret: '2kfz36N5vmAVzSsFFjxgPAGByx6xzyUv', retentionDays: 30 });
		const entries = Array.from({ length: 10_000 }, (_, i) => ({
			event: 'bench',
			scope: '!room:example.org',
			subject: String(100_000 + i),
			matrixId: `@user${i}:example.org`,
			orderCode: `O${i}`,
		}));

		const claimed = await ledger.claim(entries);
		expect(claimed).toHaveLength(10_000);
		expect(claimed.every((r) => r.status === 'new')).toBe(true);

		const seen = await ledger.claim(entries);
		expect(seen.every((r) => r.status === 'leased')).toBe(true);

		expect(await ledger.complete(entries, 'invited')).toBe(10_000);
		const again = await ledger.claim(entries);
		expect(again.every((r) => r.status === 'done' && r.outcome === 'invited')).toBe(true);
		expect(await ledger.stats('bench')).toMatchObject({
			seen: 10_000,
			invited: 10_000,
			pending: 0,
		});
	}, 60_000);
});
