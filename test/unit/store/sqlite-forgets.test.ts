/**
 * The embedded ledger forgets physically: after a purge or a forget, neither the database file nor
 * its write-ahead log holds the deleted rows' keyed hashes or sealed Matrix IDs (SQLite's
 * secure_delete zeroes freed content; the WAL is checkpointed and truncated). Read byte-wise, as a
 * data-protection officer would read the disk.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Ledger, planTickets, recordTicketOutcomes, SqliteBackend, type TicketInput } from '../../../lib/store';

const SECRET = 'sqlite-forgets-secret-3b8f1d6e9a2c7045';

function bytesOnDisk(path: string): Buffer {
	return Buffer.concat([path, `${path}-wal`, `${path}-shm`].filter(existsSync).map((file) => readFileSync(file)));
}

describe('embedded ledger: deleted rows leave no bytes behind', () => {
	let dir: string;
	let path: string;
	let backend: SqliteBackend;
	let ledger: Ledger;

	beforeEach(async () => {
		dir = mkdtempSync(join(tmpdir(), 'ledger-forgets-'));
		path = join(dir, 'ledger.sqlite');
		backend = new SqliteBackend({ path });
		await backend.init();
		ledger = new Ledger(backend, { secret: SECRET });
	});
	afterEach(async () => {
		await backend.close();
		rmSync(dir, { recursive: true, force: true });
	});

	const ticket = (id: number, userId: string, event = 'exampleorg/summit26'): TicketInput => ({ event, ticket: id, orderCode: `ORD${id}`, access: 'granted', userId, rooms: ['!room:example.org'] });

	async function grant(inputs: TicketInput[]): Promise<void> {
		const steps = (await planTickets(ledger, inputs, { leaseSeconds: 60 })).flat();
		await recordTicketOutcomes(ledger, steps.map((step) => ({ step, status: 'invited' })));
	}

	/** The stored hashes and sealed values of the rows, read through SQL before they are deleted. */
	async function storedValues(event: string): Promise<string[]> {
		const rows = await backend.grants({ event }, Date.now());
		return rows.flatMap((row) => [row.subject, row.mxid, row.ticket, row.order, row.sealed]).filter((v): v is string => !!v);
	}

	test('purge: the event\'s hashes are gone from the file and the WAL; another event\'s stay', async () => {
		// Enough rows that pages are freed, not just rewritten.
		await grant(Array.from({ length: 300 }, (_, i) => ticket(1000 + i, `@person${i}:example.org`)));
		await grant([ticket(9001, '@keeper:example.org', 'exampleorg/meetups26')]);
		const purged = await storedValues('exampleorg/summit26');
		const kept = await storedValues('exampleorg/meetups26');
		expect(purged.length).toBeGreaterThan(1000);
		const before = bytesOnDisk(path);
		expect(purged.filter((value) => before.includes(value)).length).toBeGreaterThan(0);

		await ledger.purgeEvent('exampleorg/summit26');
		const after = bytesOnDisk(path);
		expect(purged.filter((value) => after.includes(value))).toEqual([]);
		expect(kept.every((value) => after.includes(value) || before.includes(value))).toBe(true);
		expect(await backend.grants({ event: 'exampleorg/meetups26' }, Date.now())).toHaveLength(1);
	});

	test('forget: one person\'s hashes are gone from disk, the others\' are still held', async () => {
		await grant([ticket(1, '@alice:example.org'), ticket(2, '@bob:example.org')]);
		const all = await backend.grants({ event: 'exampleorg/summit26' }, Date.now());
		const alice = all.find((row) => row.mxid === ledger.matrixIdHash('@alice:example.org'))!;
		await ledger.forget({ matrixId: '@alice:example.org' });
		const after = bytesOnDisk(path);
		for (const value of [alice.subject, alice.mxid!, alice.ticket!, alice.sealed!]) expect(after.includes(value)).toBe(false);
		expect(await backend.grants({ event: 'exampleorg/summit26' }, Date.now())).toHaveLength(1);
	});
});
